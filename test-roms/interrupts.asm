; interrupts.asm - interrupts, exceptions and the other behaviours that
; differ between CPU classes, checked against the class detected at run
; time (common.inc: 8086, 186, 286, 386, 486).
;
;   all      INT n, INT 3 (both encodings), INTO, IRET; the trap flag
;            (single-step after the instruction following POPF); the
;            interrupt shadow after MOV SS / POP SS (seen through the trap
;            flag) and after STI (seen through a pending IRQ0); HLT woken
;            by IRQ0 from the PIT through the 8259; periodic IRQ0 with EOI
;   8086/186 divide error pushes the address of the NEXT instruction;
;            FLAGS bits 12-15 read as 1; PUSH SP pushes the new SP
;   186+     shift counts masked to 5 bits; #UD (INT 6) for 0F FF;
;            BOUND raises INT 5 and points at the BOUND instruction
;   286+     divide error points at the faulting instruction (its first
;            prefix); PUSH SP pushes the old SP; LES/BOUND with a register
;            operand raise #UD; FLAGS bits 12-15 stay 0 (286) or IOPL/NT
;            are writable and bit 15 stays 0 (386+)
;   8086     the shift count is not masked; IDIV with quotient -128 faults;
;            AAA/AAS adjust AL and AH separately; DAA/DAS compare with 9Fh
;            when AF is set; the borrow of DAS's AL-6 does not set CF
;            (SingleStepTests 8086 hardware captures)
;   286+     IDIV may return -128; AAA adds 106h to AX; DAA compares with
;            99h (SingleStepTests 80286 captures; Intel SDM for 386+)
; Where neither a manual nor a capture settles the 186's behaviour (IDIV
; -128, AAA/AAS/DAA/DAS edge cases) the 186 is not checked.

%define ROM_NAME "interrupts"
%include "common.inc"

TRAP_LOG_MAX    equ 16

absolute ROM_VARS
trap_n:         resw 1
trap_log:       resw TRAP_LOG_MAX
trap_stop:      resw 1                  ; clear TF when this IP is trapped
trap_fl:        resw 1                  ; FLAGS pushed by the first trap
trap_hfl:       resw 1                  ; FLAGS inside the first trap
irq_n:          resw 1
irq_ip:         resw 1                  ; IP pushed by the first IRQ0
cs_seen:        resw 1
irq_works:      resw 1                  ; IRQ0 reached the CPU (sti-shadow)
bounds:         resw 2
section .text

main:
        call t_int_n
        call t_int3_into
        call t_flags_image
        call t_divide_error
        call t_push_sp
        call t_shift_count
        call t_invalid_opcode
        call t_bound
        call t_trap_and_shadow
        call t_sti_shadow
        call t_hlt_irq
        call t_periodic_irq
        call t_class_alu
        jmp finish

; -------------------------------------------------------------- INT n etc.

t_int_n:
        GROUP "int-n"
        mov ax, 0x0AC3 | F_IF           ; OF DF SF ZF CF + IF
        push ax
        popf
        ARM 0
        mov bx, 0x1234
        int 0x40
.ret:   pushf
        cli
        cld
        pop dx
        CHECK_EXC "INT 40h", 0x40, .ret
        mov ax, [exc_fl]
        and ax, 0x0FFF
        CHECK16 "pushed FLAGS (arith, DF, IF)", ax, 0x0AC3 | F_IF
        mov ax, [exc_hfl]
        and ax, F_IF | F_TF
        CHECK16 "IF and TF inside the handler", ax, 0
        and dx, 0x0FFF
        CHECK16 "FLAGS restored by IRET", dx, 0x0AC3 | F_IF
        CHECK16 "BX preserved", bx, 0x1234
        mov ax, far_handler - 0x1000    ; same code, seen through CS = F100
        mov [0x41*4], ax
        mov word [0x41*4+2], 0xF100
        int 0x41
        CHECK16 "CS loaded from the IVT", [cs_seen], 0xF100
        mov word [0x41*4], int_stubs + 0x41*6
        mov word [0x41*4+2], ROM_SEG
        END_GROUP
        ret

t_int3_into:
        GROUP "int3-into"
        ARM 0
        int3                            ; CC
.a:     CHECK_EXC "INT3 (CC)", 3, .a
        ARM 0
        db 0xCD, 0x03                   ; CD 03
.b:     CHECK_EXC "INT 3 (CD 03)", 3, .b
        ARM 0
        xor ax, ax                      ; OF=0
        into
        CHECK_NOEXC "INTO with OF=0"
        ARM 0
        mov al, 0x7F
        add al, 1                       ; OF=1
        into
.c:     CHECK_EXC "INTO with OF=1", 4, .c
        END_GROUP
        ret

; POPF and IRET with every FLAGS bit set except TF and IF.
FLAGS_IMAGE     equ 0xFFFF & ~(F_TF | F_IF | 0x0028)

t_flags_image:
        GROUP "flags-bits-12-15"
        mov ax, FLAGS_IMAGE
        push ax
        popf
        pushf
        pop bx
        push ax
        push cs
        mov ax, .iret
        push ax
        iret
.iret:  pushf
        pop dx
        xor ax, ax
        push ax
        popf                            ; DF, IOPL, NT back to 0
        mov ax, FLAGS_IMAGE
        IF_CLASS_AT_LEAST CLASS_286, .not86
        or ax, 0xF000                   ; 8086/186: bits 12-15 always 1
        jmp .cmp
.not86: IF_CLASS_AT_LEAST CLASS_386, .is386
        and ax, 0x0FFF                  ; 286 real mode: bits 12-15 stay 0
        jmp .cmp
.is386: and ax, 0x7FFF                  ; 386+: IOPL and NT settable, 15 = 0
.cmp:   CHECK16 "FLAGS after POPF", bx, ax
        CHECK16 "FLAGS after IRET", dx, ax
        END_GROUP
        ret

; ----------------------------------------------------------- divide error

t_divide_error:
        GROUP "divide-error"
        ARM .r1
        mov ax, 0x1234
        mov bl, 0
.d1:    div bl
.n1:    nop
.r1:    mov dx, .n1                     ; 8086/186: next instruction
        IF_CLASS_BELOW CLASS_286, .c1
        mov dx, .d1                     ; 286+: the faulting instruction
.c1:    CHECK_EXC "DIV BL by 0", 0, dx

        ARM .r2
        xor dx, dx
        mov ax, 5
.d2:    div word [cs:zero_word]         ; 2E F7 36 ...
.n2:    nop
.r2:    mov dx, .n2
        IF_CLASS_BELOW CLASS_286, .c2
        mov dx, .d2                     ; points at the CS prefix
.c2:    CHECK_EXC "CS: DIV word [0] (prefixed)", 0, dx

        ARM .r3
        mov ax, 0x0042
.d3:    db 0xD4, 0x00                   ; AAM 0
.n3:    nop
.r3:    mov dx, .n3
        IF_CLASS_BELOW CLASS_286, .c3
        mov dx, .d3
.c3:    CHECK_EXC "AAM 0", 0, dx

        ARM .r4                         ; quotient 8000h: out of range
        mov dx, 0x0001
        xor ax, ax
        mov bx, 2
.d4:    idiv bx
.n4:    nop
.r4:    mov dx, .n4
        IF_CLASS_BELOW CLASS_286, .c4
        mov dx, .d4
.c4:    CHECK_EXC "IDIV 10000h / 2", 0, dx
        END_GROUP
        ret

t_push_sp:
        GROUP "push-sp"
        mov bx, sp
        push sp
        pop ax
        mov dx, bx
        IF_CLASS_AT_LEAST CLASS_286, .c
        sub dx, 2                       ; 8086/186 push the decremented SP
.c:     mov cx, sp
        CHECK16 "value pushed by PUSH SP", ax, dx
        CHECK16 "SP after PUSH SP / POP", cx, bx
        END_GROUP
        ret

t_shift_count:
        GROUP "shift-count"
        mov ax, 1
        mov cl, 33
        shl ax, cl
        mov bx, 0x8001
        mov cl, 32
        stc
        shl bx, cl
        pushf
        pop dx
        and dx, F_CF | F_ZF
        IF_CLASS_AT_LEAST CLASS_186, .masked
        CHECK16 "8086: SHL AX,33 shifts 33 times", ax, 0
        CHECK16 "8086: SHL 8001h,32", bx, 0
        CHECK16 "8086: SHL by 32 leaves CF=0 ZF=1", dx, F_ZF
        jmp .e
.masked:
        CHECK16 "186+: SHL AX,33 is SHL AX,1", ax, 2
        CHECK16 "186+: SHL by 32 is by 0", bx, 0x8001
        CHECK16 "186+: SHL by 32 keeps CF", dx, F_CF
        cpu 186
        mov ax, 1
        shl ax, 33                      ; C1 E0 21
        cpu 8086
        CHECK16 "186+: SHL AX,imm 33 is SHL AX,1", ax, 2
.e:     END_GROUP
        ret

; -------------------------------------------------------- 186+ exceptions

t_invalid_opcode:
        IF_CLASS_BELOW CLASS_186, .e
        GROUP "invalid-opcode"
        ARM .r1
.u1:    db 0x0F, 0xFF                   ; undefined on every 186+ CPU
        nop
.r1:    CHECK_EXC "0F FF", 6, .u1
        IF_CLASS_BELOW CLASS_286, .done
        ARM .r2
.u2:    db 0xC4, 0xC0                   ; LES AX, AX
        nop
.r2:    CHECK_EXC "LES with a register operand", 6, .u2
        ARM .r3
.u3:    db 0x62, 0xC0                   ; BOUND AX, AX
        nop
.r3:    CHECK_EXC "BOUND with a register operand", 6, .u3
.done:  END_GROUP
.e:     ret

t_bound:
        IF_CLASS_BELOW CLASS_186, .e
        GROUP "bound"
        cpu 186
        mov word [bounds], 0x0010
        mov word [bounds+2], 0x0020
        ARM .r1
        mov ax, 0x0010
        bound ax, [bounds]
        mov ax, 0x0020
        bound ax, [bounds]
.r1:    CHECK_NOEXC "0010h and 0020h within 10h..20h"
        ARM .r2
        mov ax, 0x000F
.b2:    bound ax, [bounds]
        nop
.r2:    CHECK_EXC "000Fh below 10h", 5, .b2
        ARM .r3
        mov ax, 0x0021
.b3:    bound ax, [bounds]
        nop
.r3:    CHECK_EXC "0021h above 20h", 5, .b3
        mov word [bounds], 0xFFFB       ; signed: -5..+20h
        ARM .r5
        mov ax, 0xFFFB
        bound ax, [bounds]
.r5:    CHECK_NOEXC "-5 within -5..20h (signed)"
        ARM .r4
        mov ax, 0xFFFA
.b4:    bound ax, [bounds]
        nop
.r4:    CHECK_EXC "-6 below -5 (signed)", 5, .b4
        cpu 8086
        END_GROUP
.e:     ret

; ------------------------------------------- trap flag and MOV SS shadow

; INT 1: log the pushed IP; at trap_stop, clear TF in the pushed FLAGS.
trap_isr:
        push bp
        mov bp, sp
        push ds
        push ax
        push bx
        pushf
        pop ax
        mov ds, [cs:zero_word]
        mov bx, [trap_n]
        cmp bx, TRAP_LOG_MAX
        jae .full
        test bx, bx
        jnz .log
        mov [trap_hfl], ax
        mov ax, [bp+6]
        mov [trap_fl], ax
.log:   add bx, bx
        mov ax, [bp+2]
        mov [trap_log+bx], ax
        inc word [trap_n]
        cmp ax, [trap_stop]
        jne .o
.full:  and word [bp+6], ~F_TF
.o:     pop bx
        pop ax
        pop ds
        pop bp
        iret

t_trap_and_shadow:
        mov word [1*4], trap_isr
        mov word [trap_n], 0
        mov word [trap_stop], .t8
        mov ax, ss
        xor bx, bx
        pushf
        pop dx
        or dx, F_TF
        push dx
        popf                            ; TF=1: first trap after .t1
.t1:    nop
.t2:    mov ss, ax                      ; no trap after MOV SS ...
.t3:    nop                             ; ... but after the next one
.t4:    push ss
.t5:    pop ss                          ; same for POP SS
.t6:    nop
.t7:    inc bx
.t8:    nop                             ; the handler clears TF at .t8
.t9:    nop
        mov word [1*4], int_stubs + 1*6

        GROUP "trap-flag"
        CHECK16 "first trap after the instruction following POPF", [trap_log], .t2
        mov ax, [trap_fl]
        and ax, F_TF
        CHECK16 "TF in the pushed FLAGS", ax, F_TF
        mov ax, [trap_hfl]
        and ax, F_TF | F_IF
        CHECK16 "TF and IF inside the handler", ax, 0
        CHECK16 "INC BX executed once", bx, 1
        CHECK16 "stopped after clearing TF in the frame", [trap_log+8], .t8
        END_GROUP

        GROUP "ss-load-shadow"
        CHECK16 "traps taken", [trap_n], 5
        CHECK16 "trap 2 (after the instruction after MOV SS)", [trap_log+2], .t4
        CHECK16 "trap 3 (after PUSH SS)", [trap_log+4], .t5
        CHECK16 "trap 4 (after the instruction after POP SS)", [trap_log+6], .t7
        END_GROUP
        ret

; -------------------------------------------------------- timer and PIC

; INT 08h: count, remember the first return address, EOI.
irq0_isr:
        push bp
        mov bp, sp
        push ds
        push ax
        mov ds, [cs:zero_word]
        cmp word [irq_n], 0
        jne .c
        mov ax, [bp+2]
        mov [irq_ip], ax
.c:     inc word [irq_n]
        mov al, 0x20
        out PIC1_CMD, al
        pop ax
        pop ds
        pop bp
        iret

; start_pit: AL = PIT mode byte for channel 0, BX = count; IRQ0 unmasked.
start_pit:
        cli
        mov word [IRQ0_VECTOR*4], irq0_isr
        mov word [irq_n], 0
        mov word [irq_ip], 0
        out PIT_MODE, al
        mov al, bl
        out PIT_CH0, al
        mov al, bh
        out PIT_CH0, al
        mov al, 0xFE
        out PIC1_DATA, al
        ret

stop_pit:
        cli
        mov al, 0xFF
        out PIC1_DATA, al
        mov al, 0x30                    ; channel 0 mode 0, no count: idle
        out PIT_MODE, al
        mov word [IRQ0_VECTOR*4], int_stubs + IRQ0_VECTOR*6
        ret

; A pending IRQ0 must wait for the instruction after STI.
t_sti_shadow:
        GROUP "sti-shadow"
        mov al, 0x30                    ; mode 0: one interrupt at count 64
        mov bx, 64
        call start_pit
        mov cx, 0xFFFF
.poll:  mov al, 0x0A                    ; OCW3: read IRR
        out PIC1_CMD, al
        in al, PIC1_CMD
        test al, 1
        jnz .pending
        loop .poll
        FAIL "IRQ0 never became pending in the 8259 IRR"
        jmp .e
.pending:
        xor bx, bx
        sti
.i1:    inc bx                          ; runs before the interrupt
.i2:    inc bx
        cli
        CHECK16 "IRQ0 taken", [irq_n], 1
        mov ax, [irq_n]
        mov [irq_works], ax
        CHECK16 "IRQ0 return address (after STI + 1 instruction)", [irq_ip], .i2
.e:     call stop_pit
        END_GROUP
        ret

t_hlt_irq:
        GROUP "hlt-irq0"
        cmp word [irq_works], 0
        jne .run
        FAIL "not run: IRQ0 never reached the CPU (see sti-shadow)"
        jmp .e
.run:        mov al, 0x34                    ; mode 2, period 1024 ticks
        mov bx, 1024
        call start_pit
        sti
        hlt
.after: cli
        mov ax, [irq_n]
        test ax, ax
        jnz .ok
        FAIL "HLT ended without IRQ0"
.ok:    CHECK16 "IRQ0 return address is after HLT", [irq_ip], .after
        call stop_pit
.e:     END_GROUP
        ret

; Several periodic interrupts: each needs the EOI of the previous one.
t_periodic_irq:
        GROUP "irq0-periodic"
        mov al, 0x34
        mov bx, 512
        call start_pit
        sti
        mov dx, 200                     ; bounded wait
.o:     xor cx, cx
.w:     cmp word [irq_n], 5
        jae .done
        loop .w
        dec dx
        jnz .o
.done:  cli
        mov ax, [irq_n]
        cmp ax, 5
        jae .ok
        CHECK16 "IRQ0 count after a long wait", ax, 5
.ok:    call stop_pit
        END_GROUP
        ret

; --------------------------------------------------- class-specific ALU

; Run one ALU case: AX, FLAGS in DX; returns AX and FLAGS in DX.
%macro ALU_CASE 3       ; instruction, AX in, FLAGS in
        mov dx, %3
        push dx
        popf
        mov ax, %2
        %1
        pushf
        pop dx
%endmacro

t_class_alu:
        GROUP "class-alu"
        IF_CLASS_BELOW CLASS_186, .c8086
        IF_CLASS_BELOW CLASS_286, .c186
        ; 286+
        ALU_CASE aaa, 0x00FA, 0x0002
        CHECK16 "286+: AAA with AL=FAh adds 106h to AX", ax, 0x0200
        ALU_CASE daa, 0x009A, 0x0002 | F_AF
        and dx, F_CF
        CHECK16 "286+: DAA AL=9Ah AF=1 CF=0", ax, 0x0000
        CHECK16 "286+: DAA AL=9Ah AF=1 CF=0: CF", dx, F_CF
        ARM 0
        mov ax, 0xFF80
        mov bl, 1
        idiv bl
        CHECK_NOEXC "286+: IDIV FF80h / 1 = -128 does not fault"
        CHECK16 "286+: IDIV FF80h / 1", ax, 0x0080
        IF_CLASS_BELOW CLASS_386, .e
        ALU_CASE aas, 0x0502, 0x0002 | F_AF
        CHECK16 "386+: AAS AX=0502h AF=1 (AX-6, AH-1)", ax, 0x030C
        ALU_CASE das, 0x009A, 0x0002 | F_AF
        and dx, F_CF
        CHECK16 "386+: DAS AL=9Ah AF=1 CF=0", ax, 0x0034
        CHECK16 "386+: DAS AL=9Ah AF=1 CF=0: CF", dx, F_CF
        ALU_CASE das, 0x0003, 0x0002 | F_AF
        and dx, F_CF
        CHECK16 "386+: DAS AL=03h AF=1 CF=0", ax, 0x00FD
        CHECK16 "386+: DAS AL=03h AF=1 CF=0: the borrow sets CF", dx, F_CF
        jmp .e
.c8086: ALU_CASE aaa, 0x00FA, 0x0002
        CHECK16 "8086: AAA with AL=FAh (AL+6, AH+1)", ax, 0x0100
        ALU_CASE aas, 0x0502, 0x0002 | F_AF
        CHECK16 "8086: AAS AX=0502h AF=1 (AL-6, AH-1)", ax, 0x040C
        ALU_CASE daa, 0x009A, 0x0002 | F_AF
        and dx, F_CF
        CHECK16 "8086: DAA AL=9Ah AF=1 CF=0", ax, 0x00A0
        CHECK16 "8086: DAA AL=9Ah AF=1 CF=0: CF", dx, 0
        ALU_CASE das, 0x009A, 0x0002 | F_AF
        and dx, F_CF
        CHECK16 "8086: DAS AL=9Ah AF=1 CF=0", ax, 0x0094
        CHECK16 "8086: DAS AL=9Ah AF=1 CF=0: CF", dx, 0
        ALU_CASE das, 0x0003, 0x0002 | F_AF
        and dx, F_CF
        CHECK16 "8086: DAS AL=03h AF=1 CF=0", ax, 0x00FD
        CHECK16 "8086: DAS AL=03h AF=1 CF=0: CF stays 0", dx, 0
        ARM .r
        mov ax, 0xFF80
        mov bl, 1
.d:     idiv bl
.n:     nop
.r:     CHECK_EXC "8086: IDIV FF80h / 1 = -128 faults", 0, .n
        jmp .e
.c186:  PRINT `note: class-alu: 186 edge cases not checked (undocumented)\n`
.e:     END_GROUP
        ret

; ------------------------------------------------- far handler (CS=F100)

        times 0x8000-($-$$) db 0xFF
far_handler:
        push ax
        mov ax, cs
        mov [ss:cs_seen], ax
        pop ax
        iret

        ROM_END
