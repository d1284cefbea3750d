; pmode.asm - protected mode on the 386 and later: exceptions with their
; error codes and return addresses, privilege levels (IRET/RETF to ring 3,
; call gates with parameter copy, interrupt and trap gates, conforming
; code), expand-down segments, task switches (CALL/JMP/INT through a task
; gate, 16- and 32-bit TSSs, busy bits, NT and the back link), the I/O
; permission bitmap and the system instructions LAR LSL VERR VERW ARPL SGDT
; SIDT SLDT STR SMSW LMSW CLTS.
;
; Build flags for validating on emulators that deviate (README.md):
; NO_SEG_LIMITS (QEMU: expand-up data limits and read-only data are not
; enforced), NO_ALIGN_CHECK (QEMU: no #AC), NO_ED_B0_LIMIT (Bochs 2.7: no
; FFFFh upper bound in a B=0 expand-down segment), NO_TASK_COMMIT (QEMU:
; a fault loading the new task's segments is raised at the task-switching
; instruction instead of in the new task).
;
; Where the SDM leaves a value undefined (the EIP pushed by #DF, the upper
; half of a pushed error code, the upper half of MOV r32, Sreg before the
; P6) it is not checked.

%define ROM_NAME "pmode"
%include "common.inc"
%include "pm.inc"
cpu 686

; CHECK_FLAGS32 "what", zf - ZF as expected.
%macro CHECK_FLAGS32 2
        pushfd
        push eax
        setz al
        movzx eax, al
        CHECK32 %1, eax, %2
        pop eax
        popfd
%endmacro

; extra descriptors (selectors from SEL_EXTRA = 40h)
SEL_RO          equ 0x40        ; read-only flat data
SEL_XO          equ 0x48        ; execute-only code
SEL_NP          equ 0x50        ; writable data, not present
SEL_SMALL       equ 0x58        ; data, base 0, limit FFFh
SEL_ED16        equ 0x60        ; expand-down, B=0, base 10000h, limit FFFh
SEL_ED32        equ 0x68        ; expand-down, B=1, base 0, limit FFFh
SEL_STK         equ 0x70        ; writable data, base 0, limit 6FFFh
SEL_CONF        equ 0x78        ; conforming code, DPL 0
SEL_CG32        equ 0x80        ; 32-bit call gate (DPL 3), 2 parameters
SEL_CG16        equ 0x88        ; 16-bit call gate (DPL 3), 2 parameters
SEL_TSSA        equ 0x90        ; 32-bit task
SEL_TSSB        equ 0x98        ; 16-bit task
SEL_TSSBAD      equ 0xA0        ; limit 40h (< 67h)
SEL_TSSDF       equ 0xA8        ; the #DF task
SEL_LDT         equ 0xB0
SEL_TSSSS       equ 0xB8        ; a task whose SS is a code segment
SEL_CG0         equ 0xC0        ; 32-bit call gate, DPL 0

TSSA            equ SPARE_TSS
TSSB            equ SPARE_TSS + 0x100
TSSBAD          equ SPARE_TSS + 0x200
TSSDF           equ SPARE_TSS + 0x300
TSSSS           equ SPARE_TSS + 0x400
LDT_BASE        equ 0x9000

gdt_extra:
        DESC 0, 0xFFFFF, 0x90, FL_G | FL_D              ; 40
        DESC 0xF0000, 0xFFFF, 0x98, FL_D                ; 48
        DESC 0, 0xFFFF, 0x12, 0                         ; 50
        DESC 0, 0xFFF, ACC_DATA, FL_D                   ; 58
        DESC 0x10000, 0xFFF, 0x96, 0                    ; 60
        DESC 0, 0xFFF, 0x96, FL_D                       ; 68
        DESC 0, 0x6FFF, ACC_DATA, FL_D                  ; 70
        DESC 0xF0000, 0xFFFF, 0x9E, FL_D                ; 78
        GATE SEL_CODE32, cg32_target, ACC_CALL32 | DPL3, 2      ; 80
        GATE SEL_CODE16, cg16_target, ACC_CALL16 | DPL3, 2      ; 88
        DESC TSSA, 0x67, ACC_TSS32, 0                   ; 90
        DESC TSSB, 0x2B, ACC_TSS16, 0                   ; 98
        DESC TSSBAD, 0x40, ACC_TSS32, 0                 ; A0
        DESC TSSDF, 0x67, ACC_TSS32, 0                  ; A8
        DESC LDT_BASE, 0x0F, ACC_LDT, 0                 ; B0
        DESC TSSSS, 0x67, ACC_TSS32, 0                  ; B8
        GATE SEL_CODE32, cg32_target, ACC_CALL32, 2     ; C0
gdt_extra_end:

absolute ROM_VARS
cg_frame:       resd 6
cg_esp:         resd 1
cg_cs:          resd 1
task_mode:      resd 1          ; 0: return with IRET, 1: JMP back
task_runs:      resd 1
task_tr:        resd 1
task_efl:       resd 1
task_link:      resd 1
task_busy_old:  resd 1
task_busy_new:  resd 1
df_runs:        resd 1
df_err:         resd 1
df_tr:          resd 1
df_efl:         resd 1
df_link:        resd 1
df_resume:      resd 1
df_resume_esp:  resd 1
dt_buf:         resd 4
section .text

main:
        jmp pm_start

bits 32
main32:
        call init_tasks
        call t_entry
        call t_simple_exc
        call t_nm
        call t_gp
        call t_np_ss
        call t_ac
        call t_ring3
        call t_callgates
        call t_gates_if
        call t_retf_null
        call t_conforming
        call t_expand_down
        call t_task_call
        call t_task_jmp
        call t_task_gate
        call t_tss16
        call t_df
        call t_ts
        call t_iopb
        call t_lar_lsl
        call t_verr_arpl
        call t_sysregs
        jmp pm_finish

; ------------------------------------------------------------ task setup

; init_tss32: EDI = TSS, EAX = EIP, EBX = ESP, ECX = CS, EDX = SS/DS/ES.
init_tss32:
        push eax
        push edi
        push ecx
        mov ecx, 0x68 / 4
        push eax
        xor eax, eax
.z:     mov [edi + ecx*4 - 4], eax
        loop .z
        pop eax
        pop ecx
        mov [edi + 0x20], eax
        mov dword [edi + 0x24], 2
        mov [edi + 0x38], ebx
        mov [edi + 0x4C], ecx
        mov [edi + 0x50], edx
        mov [edi + 0x54], edx
        mov [edi + 0x48], edx
        mov [edi + 0x58], edx
        mov [edi + 0x5C], edx
        mov dword [edi + 0x04], 0xA800   ; ESP0/SS0 for the #TS handler
        mov dword [edi + 0x08], SEL_DATA
        mov word [edi + 0x66], 0x68      ; no I/O bitmap
        pop edi
        pop eax
        ret

init_tasks:
        mov edi, TSSA
        mov eax, task_a
        mov ebx, 0x8800
        mov ecx, SEL_CODE32
        mov edx, SEL_DATA
        call init_tss32
        mov edi, TSSDF
        mov eax, df_task
        mov ebx, 0xA000
        call init_tss32
        mov edi, TSSSS
        mov eax, task_ss
        mov ebx, 0x9C00
        mov ecx, SEL_CODE3 | 3
        mov edx, SEL_CODE3 | 3          ; SS: a code segment (DS/ES too)
        call init_tss32
        mov edi, TSSBAD
        mov eax, task_a
        mov ebx, 0x8800
        mov ecx, SEL_CODE32
        mov edx, SEL_DATA
        call init_tss32
        ; 16-bit TSS
        mov edi, TSSB
        xor eax, eax
        mov ecx, 0x2C / 4
.z:     mov [edi + ecx*4 - 4], eax
        loop .z
        mov word [edi + 0x0E], task_b
        mov word [edi + 0x10], 2
        mov word [edi + 0x1A], 0x8C00
        mov word [edi + 0x24], SEL_CODE16
        mov word [edi + 0x26], SEL_DATA
        mov word [edi + 0x28], SEL_DATA
        mov word [edi + 0x22], SEL_DATA
        ; LDT: one flat data descriptor, one null
        mov dword [LDT_BASE], 0x0000FFFF
        mov dword [LDT_BASE + 4], 0x00CF9200
        mov dword [LDT_BASE + 8], 0
        mov dword [LDT_BASE + 12], 0
        ret

; ------------------------------------------------------------ the basics

t_entry:
        PGROUP "pm-entry"
        mov eax, cr0
        CHECK32M "CR0.PE", eax, 1, 1
        xor eax, eax
        mov ax, cs
        CHECK32 "CS", eax, SEL_CODE32
        xor eax, eax
        str ax
        CHECK32 "STR", eax, SEL_TSS
        mov eax, [GDT_BASE + SEL_TSS + 4]
        CHECK32M "TSS busy after LTR", eax, 0x0F00, 0x0B00
        PEND
        ret

t_simple_exc:
        PGROUP "exc-de"
        ARM32 .de
        xor edx, edx
        mov eax, 1
        xor ecx, ecx
.de0:   div ecx
.de:    CHECK_EXC32 "DIV by 0: fault", 0, NO_ERR, .de0
        mov eax, [pm_exc_cs]
        CHECK32M "pushed CS", eax, 0xFFFF, SEL_CODE32
        mov ebx, esp
        CHECK32 "no stack switch at CPL 0", [pm_exc_esp], ebx
        PEND

        PGROUP "exc-db-tf"
        xor eax, eax
        mov dr6, eax
        ARM32 .db
        pushfd
        or dword [esp], EF_TF
        popfd
        nop                             ; the first instruction traced
.db0:   nop
.db:    CHECK_EXC32 "single-step trap after the instruction", 1, NO_ERR, .db0
        mov eax, dr6
        CHECK32M "DR6.BS", eax, 0x4000, 0x4000
        mov eax, [pm_exc_efl]
        CHECK32M "pushed TF", eax, EF_TF, EF_TF
        mov eax, [pm_exc_hfl]
        CHECK32M "TF clear in the handler", eax, EF_TF, 0
        PEND

        PGROUP "exc-bp-of"
        ARM32 0
        int3
.bp:    CHECK_EXC32 "INT3: trap", 3, NO_ERR, .bp
        ARM32 0
        mov al, 0x7F
        add al, 1
        into
.of:    CHECK_EXC32 "INTO with OF: trap", 4, NO_ERR, .of
        ARM32 0
        xor eax, eax
        into
        CHECK_NOEXC32 "INTO without OF"
        PEND

        PGROUP "exc-br-ud"
        mov dword [dt_buf], 10
        mov dword [dt_buf+4], 20
        mov eax, 15
        ARM32 0
        bound eax, [dt_buf]
        CHECK_NOEXC32 "BOUND in range"
        mov eax, 21
        ARM32 .br
.br0:   bound eax, [dt_buf]
.br:    CHECK_EXC32 "BOUND out of range: fault", 5, NO_ERR, .br0
        ARM32 .ud
.ud0:   db 0x8E, 0xC8                   ; MOV CS, AX
.ud:    CHECK_EXC32 "MOV CS: #UD", 6, NO_ERR, .ud0
        PEND
        ret

t_nm:
        PGROUP "exc-nm"
        mov eax, cr0
        mov esi, eax
        and eax, ~0xE                   ; MP EM TS clear
        or eax, 8                       ; TS
        mov cr0, eax
        ARM32 .a
.a0:    fnop
.a:     CHECK_EXC32 "ESC with CR0.TS", 7, NO_ERR, .a0
        ARM32 0
        wait
        CHECK_NOEXC32 "WAIT with TS, MP=0"
        mov eax, cr0
        or eax, 2                       ; MP
        mov cr0, eax
        ARM32 .b
.b0:    wait
.b:     CHECK_EXC32 "WAIT with TS and MP", 7, NO_ERR, .b0
        clts
        mov eax, cr0
        CHECK32M "CLTS clears TS", eax, 8, 0
        and eax, ~2
        or eax, 4                       ; EM
        mov cr0, eax
        ARM32 .c
.c0:    fnop
.c:     CHECK_EXC32 "ESC with CR0.EM", 7, NO_ERR, .c0
        mov cr0, esi
        PEND
        ret

; ------------------------------------------------------------------ #GP

t_gp:
        PGROUP "exc-gp"
        ARM32 .a
.a0:    jmp 0:.a
.a:     CHECK_EXC32 "JMP to a null CS", 13, 0, .a0
        ARM32 .b
        mov ax, 0x7F8
.b0:    mov ds, ax
.b:     CHECK_EXC32 "selector beyond the GDT limit", 13, 0x7F8, .b0
        ARM32 .c
        mov ax, SEL_XO
.c0:    mov ds, ax
.c:     CHECK_EXC32 "execute-only code into DS", 13, SEL_XO, .c0
        ARM32 0
        mov ax, SEL_CODE32
        mov es, ax
        CHECK_NOEXC32 "readable code into ES"
        mov ax, SEL_DATA
        mov es, ax
%ifndef NO_SEG_LIMITS
        ARM32 .d
        mov ax, SEL_RO
        mov es, ax
.d0:    mov dword [es:0x9000], 1
.d:     CHECK_EXC32 "write to read-only data", 13, 0, .d0
        ARM32 .e
        mov ax, SEL_SMALL
        mov es, ax
        mov eax, [es:0xFFC]
.e0:    mov eax, [es:0xFFE]
.e:     CHECK_EXC32 "dword crossing the limit", 13, 0, .e0
%endif
        mov ax, SEL_DATA
        mov es, ax
        ARM32 .f
        mov ax, SEL_CODE3 | 3
.f0:    mov ss, ax                      ; RPL != CPL
.f:     CHECK_EXC32 "SS with RPL 3 at CPL 0", 13, SEL_CODE3, .f0
        ; INT n beyond the IDT limit
        mov word [dt_buf], 0x40*8 - 1
        mov dword [dt_buf+2], IDT_BASE
        lidt [dt_buf]
        ARM32 .g
.g0:    int 0x50
.g:     lidt [cs:pm_idtr]
        CHECK_EXC32 "INT 50h beyond the IDT limit", 13, 0x50*8 + 2, .g0
        ; at CPL 3
        ARM32 .h
        ENTER_RING3
.h0:    int 0x41
.h:     CHECK_EXC32 "INT 41h (DPL 0) at CPL 3", 13, 0x41*8 + 2, .h0
        mov eax, [pm_exc_cs]
        CHECK32M "pushed CS (CPL 3)", eax, 0xFFFF, SEL_CODE3 | 3
        mov eax, [pm_exc_ss]
        CHECK32M "pushed SS", eax, 0xFFFF, SEL_DATA3 | 3
        CHECK32 "pushed ESP", [pm_exc_esp], RING3_STACK
        ARM32 .i
        ENTER_RING3
.i0:    cli
.i:     CHECK_EXC32 "CLI at CPL 3, IOPL 0", 13, 0, .i0
        ARM32 .j
        ENTER_RING3
.j0:    hlt
.j:     CHECK_EXC32 "HLT at CPL 3", 13, 0, .j0
        ARM32 .k
        ENTER_RING3
.k0:    mov eax, cr0
.k:     CHECK_EXC32 "MOV from CR0 at CPL 3", 13, 0, .k0
        ARM32 .l
        ENTER_RING3
.l0:    lgdt [dt_buf]
.l:     CHECK_EXC32 "LGDT at CPL 3", 13, 0, .l0
        ARM32 .m
        ENTER_RING3
.m0:    call SEL_CODE32:0
.m:     CHECK_EXC32 "CALL to DPL-0 code at CPL 3", 13, SEL_CODE32, .m0
        ARM32 .n
        ENTER_RING3
.n0:    call SEL_CG0:0
.n:     CHECK_EXC32 "CALL through a DPL-0 gate at CPL 3", 13, SEL_CG0, .n0
        PEND
        ret

t_np_ss:
        PGROUP "exc-np"
        ARM32 .a
        mov ax, SEL_NP
.a0:    mov ds, ax
.a:     CHECK_EXC32 "DS not present", 11, SEL_NP, .a0
        mov byte [IDT_BASE + 0x51*8 + 5], 0x0E          ; P=0
        ARM32 .b
.b0:    int 0x51
.b:     mov byte [IDT_BASE + 0x51*8 + 5], ACC_INT32
        CHECK_EXC32 "gate not present (IDT bit)", 11, 0x51*8 + 2, .b0
        PEND

        PGROUP "exc-ss"
        ARM32 .c
        mov ax, SEL_NP
.c0:    mov ss, ax
.c:     CHECK_EXC32 "SS not present", 12, SEL_NP, .c0
%ifndef NO_SEG_LIMITS
        ARM32 .d
        mov ax, SEL_STK
        mov ss, ax
        mov eax, [ss:0x6FFC]
.d0:    mov eax, [ss:0x6FFE]
.d:     CHECK_EXC32 "SS access beyond the limit", 12, 0, .d0
        ARM32 .e
        mov ax, SEL_STK
        mov ss, ax
        mov ebp, 0x7000
.e0:    mov eax, [ebp]
.e:     CHECK_EXC32 "EBP-based access beyond the limit", 12, 0, .e0
%endif
        PEND
        ret

t_ac:
        PGROUP "exc-ac"
%ifdef NO_ALIGN_CHECK
        PPRINT `note: #AC not checked (NO_ALIGN_CHECK)\n`
        PEND
        ret
%endif
        PIF_CLASS_AT_LEAST CLASS_486, .go
        PPRINT `note: no #AC on the 386\n`
        PEND
        ret
.go:    mov eax, cr0
        or eax, 0x40000                 ; AM
        mov cr0, eax
        ARM32 .a
        ENTER_RING3 EF_AC | 2
.a0:    mov eax, [0x7001]
.a:     CHECK_EXC32 "misaligned dword at CPL 3 with AM and AC", 17, 0, .a0
        ARM32 0
        ENTER_RING3 2
        mov eax, [0x7001]
        LEAVE_RING3
        CHECK_NOEXC32 "AC clear: no #AC"
        ARM32 0
        mov eax, [0x7001]
        pushfd
        or dword [esp], EF_AC
        popfd
        mov eax, [0x7003]
        pushfd
        and dword [esp], ~EF_AC
        popfd
        CHECK_NOEXC32 "CPL 0: no #AC"
        mov eax, cr0
        and eax, ~0x40000
        mov cr0, eax
        PEND
        ret

; ----------------------------------------------------------- privilege

t_ring3:
        PGROUP "ring3-iret"
        ENTER_RING3
        xor eax, eax
        mov ax, cs
        xor ebx, ebx
        mov bx, ss
        mov ecx, esp
        xor edx, edx
        mov dx, ds
        LEAVE_RING3
        CHECK32 "CS at CPL 3", eax, SEL_CODE3 | 3
        CHECK32 "SS", ebx, SEL_DATA3 | 3
        CHECK32 "ESP", ecx, RING3_STACK
        CHECK32 "DS (DPL 3) kept", edx, SEL_DATA3 | 3
        CHECK32 "ESP pushed by INT", [pm_r3_esp], RING3_STACK
        PEND
        ret

t_callgates:
        PGROUP "callgate32"
        ENTER_RING3
        push dword 0x11111111
        push dword 0x22222222
        call (SEL_CG32 | 3):0
.r:     mov ebx, esp
        LEAVE_RING3
        CHECK32 "ESP after RETF 8", ebx, RING3_STACK
        CHECK32 "pushed EIP", [cg_frame], .r
        CHECK32M "pushed CS", [cg_frame+4], 0xFFFF, SEL_CODE3 | 3
        CHECK32 "parameter 2 copied", [cg_frame+8], 0x22222222
        CHECK32 "parameter 1 copied", [cg_frame+12], 0x11111111
        CHECK32 "outer ESP", [cg_frame+16], RING3_STACK - 8
        CHECK32M "outer SS", [cg_frame+20], 0xFFFF, SEL_DATA3 | 3
        CHECK32 "inner ESP from the TSS", [cg_esp], RING0_STACK - 24
        CHECK32 "inner CS", [cg_cs], SEL_CODE32
        PEND

        PGROUP "callgate16"
        ENTER_RING3
        push word 0x1111
        push word 0x2222
        call (SEL_CG16 | 3):0
.r16:   mov ebx, esp
        LEAVE_RING3
        CHECK32M "SP after RETF 4", ebx, 0xFFFF, RING3_STACK & 0xFFFF
        CHECK32 "pushed IP, CS", [cg_frame], ((SEL_CODE3 | 3) << 16) + .r16
        CHECK32 "parameters copied", [cg_frame+4], 0x11112222
        CHECK32 "outer SP, SS", [cg_frame+8], ((SEL_DATA3 | 3) << 16) | ((RING3_STACK - 4) & 0xFFFF)
        CHECK32 "inner ESP", [cg_esp], RING0_STACK - 12
        CHECK32 "inner CS", [cg_cs], SEL_CODE16
        PEND
        ret

; Reached through SEL_CG32 at CPL 0.
cg32_target:
        push eax
        push ecx
        xor ecx, ecx
.c:     mov eax, [esp + 8 + ecx*4]
        mov [cg_frame + ecx*4], eax
        inc ecx
        cmp ecx, 6
        jb .c
        lea eax, [esp + 8]
        mov [cg_esp], eax
        xor eax, eax
        mov ax, cs
        mov [cg_cs], eax
        pop ecx
        pop eax
        retf 8

bits 16
; Reached through SEL_CG16 at CPL 0 (16-bit code, 32-bit stack).
cg16_target:
        push eax
        mov eax, [esp + 4]
        mov [cg_frame], eax
        mov eax, [esp + 8]
        mov [cg_frame+4], eax
        mov eax, [esp + 12]
        mov [cg_frame+8], eax
        lea eax, [esp + 4]
        mov [cg_esp], eax
        xor eax, eax
        mov ax, cs
        mov [cg_cs], eax
        pop eax
        retf 4
bits 32

t_gates_if:
        PGROUP "int-trap-gates"
        SET_GATE 0x43, pm_stub_67, SEL_CODE32, ACC_TRAP32
        SET_GATE 0x44, pm_stub_68, SEL_CODE32, ACC_TRAP32 | DPL3
        sti
        ARM32 0
        int 0x42
        cli
        CHECK32M "interrupt gate clears IF", [pm_exc_hfl], EF_IF, 0
        CHECK32M "pushed IF", [pm_exc_efl], EF_IF, EF_IF
        sti
        ARM32 0
        int 0x43
        cli
        CHECK32M "trap gate keeps IF", [pm_exc_hfl], EF_IF, EF_IF
        ARM32 .r
        ENTER_RING3 EF_IF | 2
        int 0x44
.a:     nop
.r:     CHECK_EXC32 "INT 44h (DPL 3 trap gate) from CPL 3", 0x44, NO_ERR, .a
        CHECK32M "IF kept", [pm_exc_hfl], EF_IF, EF_IF
        CHECK32M "pushed CS", [pm_exc_cs], 0xFFFF, SEL_CODE3 | 3
        CHECK32M "pushed SS", [pm_exc_ss], 0xFFFF, SEL_DATA3 | 3
        CHECK32 "pushed ESP", [pm_exc_esp], RING3_STACK
        SET_GATE 0x43, pm_stub_67, SEL_CODE32, ACC_INT32
        SET_GATE 0x44, pm_stub_68, SEL_CODE32, ACC_INT32
        PEND
        ret

t_retf_null:
        PGROUP "retf-outer"
        mov [pm_ring0_esp], esp
        mov eax, SEL_DATA3 | 3
        mov fs, eax
        mov eax, SEL_DATA
        mov es, eax
        mov gs, eax
        push dword SEL_DATA3 | 3
        push dword RING3_STACK - 0x10
        push dword SEL_CODE3 | 3
        push dword .r3
        retf
.r3:    xor eax, eax
        mov ax, ds
        xor ebx, ebx
        mov bx, es
        xor ecx, ecx
        mov cx, fs
        xor edx, edx
        mov dx, gs
        xor esi, esi
        mov si, cs
        mov edi, esp
        LEAVE_RING3
        CHECK32 "CS", esi, SEL_CODE3 | 3
        CHECK32 "ESP", edi, RING3_STACK - 0x10
        CHECK32 "DS (DPL 0) nulled", eax, 0
        CHECK32 "ES (DPL 0) nulled", ebx, 0
        CHECK32 "FS (DPL 3) kept", ecx, SEL_DATA3 | 3
        CHECK32 "GS (DPL 0) nulled", edx, 0
        PEND
        ret

t_conforming:
        PGROUP "conforming"
        ENTER_RING3
        call SEL_CONF:conf_target
        LEAVE_RING3
        CHECK32 "CS in conforming code: CPL 3 kept", eax, SEL_CONF | 3
        CHECK32 "no stack switch", ebx, RING3_STACK - 8
        mov ax, SEL_CONF
        mov es, ax                      ; readable: a data load is allowed
        mov ax, SEL_DATA
        mov es, ax
        PEND
        ret

conf_target:
        xor eax, eax
        mov ax, cs
        mov ebx, esp
        retf

t_expand_down:
        PGROUP "expand-down"
%ifndef NO_SEG_LIMITS
        mov dword [0x11000], 0x600DF00D
        mov dword [0x1FFFC], 0x12345678
        mov ax, SEL_ED16
        mov es, ax
        ARM32 0
        mov eax, [es:0x1000]
        mov ebx, [es:0xFFFC]
        CHECK_NOEXC32 "offsets 1000h-FFFFh"
        CHECK32 "read at 1000h", eax, 0x600DF00D
        CHECK32 "read at FFFCh", ebx, 0x12345678
        ARM32 .a
.a0:    mov al, [es:0x0FFF]
.a:     CHECK_EXC32 "offset at the limit (FFFh)", 13, 0, .a0
%ifndef NO_ED_B0_LIMIT
        ; The exception catcher resumes with ES = SEL_DATA: reload the segment under test.
        mov ax, SEL_ED16
        mov es, ax
        ARM32 .b
.b0:    mov eax, [es:0xFFFE]
.b:     CHECK_EXC32 "dword past FFFFh (B=0)", 13, 0, .b0
        mov ax, SEL_ED16
        mov es, ax
        ARM32 .b2
.b1:    mov al, [es:0x10000]
.b2:    CHECK_EXC32 "offset 10000h (B=0)", 13, 0, .b1
%endif
        mov ax, SEL_ED32
        mov es, ax
        ARM32 0
        mov eax, [es:0x11000]
        CHECK_NOEXC32 "B=1: offsets above FFFFh"
        CHECK32 "read at 11000h", eax, 0x600DF00D
        ARM32 .c
.c0:    mov eax, [es:0x0FFE]
.c:     CHECK_EXC32 "B=1: dword reaching into the limit", 13, 0, .c0
%else
        PPRINT `note: expand-down limits not checked (NO_SEG_LIMITS)\n`
%endif
        mov ax, SEL_DATA
        mov es, ax
        PEND
        ret

; ------------------------------------------------------------- tasks

; Task A (32-bit): records its view, then returns by IRET (task_mode 0) or
; by JMP to the main TSS (task_mode 1).
task_a:
        inc dword [task_runs]
        xor eax, eax
        str ax
        mov [task_tr], eax
        pushfd
        pop dword [task_efl]
        movzx eax, word [TSSA]
        mov [task_link], eax
        mov eax, [GDT_BASE + SEL_TSS + 4]
        mov [task_busy_old], eax
        mov eax, [GDT_BASE + SEL_TSSA + 4]
        mov [task_busy_new], eax
        mov ebx, 0x5A5A5A5A
        cmp dword [task_mode], 0
        jne .jmp
        iretd
.after_iret:
        jmp task_a
.jmp:   jmp SEL_TSS:0
.after_jmp:
        jmp task_a

%macro TASK_RESET 0
        mov dword [task_runs], 0
        mov dword [task_tr], 0
        mov dword [task_efl], 0
        mov dword [task_link], 0
%endmacro

t_task_call:
        PGROUP "task-call"
        TASK_RESET
        mov dword [task_mode], 0
        mov word [TSSA], 0
        clts
        mov ebx, 0x1234
        ARM32 0
        call SEL_TSSA:0
        CHECK_NOEXC32 "CALL to a TSS"
        mov eax, cr0
        CHECK32M "a task switch sets CR0.TS", eax, 8, 8
        clts
        CHECK32 "task ran", [task_runs], 1
        CHECK32 "STR in the task", [task_tr], SEL_TSSA
        CHECK32M "NT in the task", [task_efl], EF_NT, EF_NT
        CHECK32 "back link", [task_link], SEL_TSS
        CHECK32M "old TSS still busy", [task_busy_old], 0x0F00, 0x0B00
        CHECK32M "new TSS busy", [task_busy_new], 0x0F00, 0x0B00
        CHECK32 "EBX restored from the TSS", ebx, 0x1234
        CHECK32 "task's EBX saved by IRET", [TSSA + 0x34], 0x5A5A5A5A
        CHECK32 "task's EIP saved by IRET", [TSSA + 0x20], task_a.after_iret
        CHECK32M "TSS A free after IRET", [GDT_BASE + SEL_TSSA + 4], 0x0F00, 0x0900
        pushfd
        pop eax
        CHECK32M "NT clear after IRET", eax, EF_NT, 0
        xor eax, eax
        str ax
        CHECK32 "TR back", eax, SEL_TSS
        ; CALL to a busy TSS
        ARM32 .b
.b0:    call SEL_TSS:0
.b:     CHECK_EXC32 "CALL to the busy TSS", 13, SEL_TSS, .b0
        PEND
        ret

t_task_jmp:
        PGROUP "task-jmp"
        TASK_RESET
        mov dword [task_mode], 1
        mov word [TSSA], 0
        mov dword [TSSA + 0x20], task_a
        ARM32 0
        jmp SEL_TSSA:0
        CHECK_NOEXC32 "JMP to a TSS and back"
        CHECK32 "task ran", [task_runs], 1
        CHECK32 "STR in the task", [task_tr], SEL_TSSA
        CHECK32M "NT clear in the task", [task_efl], EF_NT, 0
        CHECK32 "no back link written", [task_link], 0
        CHECK32M "old TSS free during the task", [task_busy_old], 0x0F00, 0x0900
        CHECK32M "new TSS busy", [task_busy_new], 0x0F00, 0x0B00
        CHECK32M "TSS A free after the JMP back", [GDT_BASE + SEL_TSSA + 4], 0x0F00, 0x0900
        CHECK32 "TSS A's EIP", [TSSA + 0x20], task_a.after_jmp
        PEND
        ret

t_task_gate:
        PGROUP "task-gate"
        TASK_RESET
        mov dword [task_mode], 0
        mov dword [TSSA + 0x20], task_a
        mov word [TSSA], 0
        mov dword [IDT_BASE + 0x45*8], SEL_TSSA << 16
        mov dword [IDT_BASE + 0x45*8 + 4], ACC_TASK << 8
        ARM32 0
        int 0x45
        CHECK_NOEXC32 "INT 45h through a task gate"
        CHECK32 "task ran", [task_runs], 1
        CHECK32 "STR in the task", [task_tr], SEL_TSSA
        CHECK32M "NT in the task", [task_efl], EF_NT, EF_NT
        CHECK32 "back link", [task_link], SEL_TSS
        SET_GATE 0x45, pm_stub_69, SEL_CODE32, ACC_INT32
        PEND
        ret

bits 16
; Task B (16-bit TSS, 16-bit code).
task_b:
        inc dword [task_runs]
        xor eax, eax
        str ax
        mov [task_tr], eax
        pushfd
        pop dword [task_efl]
        mov ax, [TSSB]
        mov [task_link], eax
        mov bx, 0xB0B0
        iret
.end:   jmp task_b
bits 32

t_tss16:
        PGROUP "tss16"
        TASK_RESET
        ARM32 0
        call SEL_TSSB:0
        CHECK_NOEXC32 "CALL to a 16-bit TSS"
        CHECK32 "task ran", [task_runs], 1
        CHECK32 "STR in the task", [task_tr], SEL_TSSB
        CHECK32M "NT in the task", [task_efl], EF_NT, EF_NT
        CHECK32 "back link", [task_link], SEL_TSS
        CHECK32M "BX saved in the 16-bit TSS", [TSSB + 0x18], 0xFFFF, 0xB0B0
        CHECK32M "IP saved", [TSSB + 0x0E], 0xFFFF, task_b.end
        CHECK32M "TSS B free", [GDT_BASE + SEL_TSSB + 4], 0x0F00, 0x0100
        PEND
        ret

; The #DF task: records, points the interrupted task at df_resume and
; returns to it with IRET (NT set, back link = the main TSS).
df_task:
        inc dword [df_runs]
        pop dword [df_err]
        xor eax, eax
        str ax
        mov [df_tr], eax
        pushfd
        pop dword [df_efl]
        movzx eax, word [TSSDF]
        mov [df_link], eax
        mov eax, [df_resume]
        mov [TSS_BASE + 0x20], eax
        mov eax, [df_resume_esp]
        mov [TSS_BASE + 0x38], eax
        iretd
        jmp df_task

t_df:
        PGROUP "exc-df"
        ; #DE whose gate is not present: #NP while delivering it -> #DF
        mov byte [IDT_BASE + 0*8 + 5], 0x0E
        ARM32 .a
        xor edx, edx
        xor ecx, ecx
        div ecx
.a:     mov byte [IDT_BASE + 0*8 + 5], ACC_INT32
        CHECK32 "one exception", [pm_exc_count], 1
        movzx eax, byte [pm_exc_vec]
        CHECK32 "#DF", eax, 8
        CHECK32 "error code 0", [pm_exc_err], 0
        mov byte [pm_armed], 0
        ; the same through a task gate for #DF
        mov dword [IDT_BASE + 8*8], SEL_TSSDF << 16
        mov dword [IDT_BASE + 8*8 + 4], ACC_TASK << 8
        mov byte [IDT_BASE + 0*8 + 5], 0x0E
        mov dword [df_resume], .b
        mov [df_resume_esp], esp
        xor edx, edx
        xor ecx, ecx
        div ecx
.b:     mov byte [IDT_BASE + 0*8 + 5], ACC_INT32
        SET_GATE 8, pm_stub_8, SEL_CODE32, ACC_INT32
        CHECK32 "#DF task ran", [df_runs], 1
        CHECK32 "error code on the task's stack", [df_err], 0
        CHECK32 "STR in the #DF task", [df_tr], SEL_TSSDF
        CHECK32M "NT in the #DF task", [df_efl], EF_NT, EF_NT
        CHECK32 "back link", [df_link], SEL_TSS
        xor eax, eax
        str ax
        CHECK32 "back in the main task", eax, SEL_TSS
        PEND
        ret

; Entered through SEL_TSSSS only if its SS were valid.
task_ss:
        jmp task_ss

t_ts:
        PGROUP "exc-ts"
        ARM32 .a
.a0:    jmp SEL_TSSBAD:0
.a:     CHECK_EXC32 "TSS limit below 67h", 10, SEL_TSSBAD, .a0
        CHECK32M "main TSS still busy", [GDT_BASE + SEL_TSS + 4], 0x0F00, 0x0B00
        xor eax, eax
        str ax
        CHECK32 "TR unchanged", eax, SEL_TSS
        ; a code segment as the new task's SS: #TS in the new task
        ARM32 .b
.b0:    jmp SEL_TSSSS:0
.b:
%ifdef NO_TASK_COMMIT
        movzx eax, byte [pm_exc_vec]
        CHECK32 "SS in the new TSS is code: #TS", eax, 10
        CHECK32 "error code", [pm_exc_err], SEL_CODE3
        mov byte [pm_armed], 0
%else
        CHECK_EXC32 "SS in the new TSS is code", 10, SEL_CODE3, task_ss
        CHECK32M "pushed CS: the new task's", [pm_exc_cs], 0xFFFF, SEL_CODE3 | 3
        xor eax, eax
        str ax
        CHECK32 "TR is the new task", eax, SEL_TSSSS
        CHECK32M "old TSS freed by the JMP", [GDT_BASE + SEL_TSS + 4], 0x0F00, 0x0900
%endif
        xor eax, eax
        str ax
        cmp ax, SEL_TSS
        je .c
        mov byte [GDT_BASE + SEL_TSSSS + 5], ACC_TSS32
        mov byte [GDT_BASE + SEL_TSS + 5], ACC_TSS32
        mov ax, SEL_TSS
        ltr ax
.c:
        PEND
        ret

; ---------------------------------------------------------------- I/O

; io_deny PORT / io_allow PORT - set or clear the port's bitmap bit.
%macro IO_DENY 1
        push eax
        mov eax, %1
        bts [TSS_IOPB], eax
        pop eax
%endmacro
%macro IO_ALLOW 1
        push eax
        mov eax, %1
        btr [TSS_IOPB], eax
        pop eax
%endmacro

t_iopb:
        PGROUP "io-bitmap"
        IO_ALLOW 0x80
        IO_ALLOW 0x84
        IO_ALLOW 0x85
        IO_ALLOW 0x86
        IO_ALLOW 0x87
        ARM32 0
        ENTER_RING3
        out 0x80, al
        mov dx, 0x84
        in eax, dx
        in al, 0x87
        LEAVE_RING3
        CHECK_NOEXC32 "allowed ports at CPL 3, IOPL 0"
        ARM32 .a
        ENTER_RING3
.a0:    in al, 0x81
.a:     CHECK_EXC32 "denied port", 13, 0, .a0
        ARM32 .b
        ENTER_RING3
.b0:    out 0x80, ax
.b:     CHECK_EXC32 "word with its second port denied", 13, 0, .b0
        ARM32 .c
        ENTER_RING3
        mov dx, 0x87
.c0:    out dx, ax
.c:     CHECK_EXC32 "word straddling bitmap bytes (88h denied)", 13, 0, .c0
        IO_ALLOW 0x88
        ARM32 0
        ENTER_RING3
        mov dx, 0x87
        in ax, dx
        LEAVE_RING3
        CHECK_NOEXC32 "word straddling bitmap bytes, both allowed"
        ARM32 .d
        ENTER_RING3
        mov dx, 0x86
.d0:    in eax, dx
.d:     CHECK_EXC32 "dword reaching port 89h", 13, 0, .d0
        ARM32 0
        ENTER_RING3 EF_IOPL3 | 2
        in al, 0x81
        cli
        LEAVE_RING3
        CHECK_NOEXC32 "IOPL 3: bitmap not consulted, CLI allowed"
        IO_DENY 0x80
        IO_DENY 0x84
        IO_DENY 0x85
        IO_DENY 0x86
        IO_DENY 0x87
        IO_DENY 0x88
        PEND
        ret

; ------------------------------------------------ system instructions

t_lar_lsl:
        PGROUP "lar-lsl"
        mov eax, 0xFFFFFFFF
        mov ebx, SEL_CODE32
        lar eax, ebx
        CHECK_FLAGS32 "LAR code: ZF", 1
        CHECK32 "LAR code", eax, 0x00409B00
        mov ebx, SEL_TSS
        lar eax, ebx
        CHECK32 "LAR busy TSS", eax, 0x00008B00
        mov ebx, SEL_CG32
        lar eax, ebx
        CHECK_FLAGS32 "LAR call gate: ZF", 1
        CHECK32 "LAR call gate", eax, 0x0000EC00
        mov eax, 0x5555
        xor ebx, ebx
        lar eax, ebx
        CHECK_FLAGS32 "LAR null: ZF", 0
        CHECK32 "LAR null leaves EAX", eax, 0x5555
        mov ebx, 0x7F8
        lar eax, ebx
        CHECK_FLAGS32 "LAR beyond the limit: ZF", 0
        mov ebx, SEL_DATA
        lsl eax, ebx
        CHECK_FLAGS32 "LSL flat: ZF", 1
        CHECK32 "LSL flat (G=1)", eax, 0xFFFFFFFF
        mov ebx, SEL_SMALL
        lsl eax, ebx
        CHECK32 "LSL byte-granular", eax, 0xFFF
        mov ebx, SEL_TSS
        lsl eax, ebx
        CHECK32 "LSL TSS", eax, TSS_LIMIT
        mov eax, 0x6666
        mov ebx, SEL_CG32
        lsl eax, ebx
        CHECK_FLAGS32 "LSL call gate: ZF", 0
        CHECK32 "LSL call gate leaves EAX", eax, 0x6666
        ENTER_RING3
        mov ebx, SEL_DATA
        lar eax, ebx
        setz cl
        mov ebx, SEL_CONF
        lar edx, ebx
        setz ch
        LEAVE_RING3
        CHECK32M "LAR DPL-0 data at CPL 3: ZF=0", ecx, 0xFF, 0
        CHECK32M "LAR conforming code at CPL 3: ZF=1", ecx, 0xFF00, 0x100
        PEND
        ret


t_verr_arpl:
        PGROUP "verr-verw"
        mov ax, SEL_XO
        verr ax
        CHECK_FLAGS32 "VERR execute-only", 0
        mov ax, SEL_CODE32
        verr ax
        CHECK_FLAGS32 "VERR readable code", 1
        mov ax, SEL_RO
        verr ax
        CHECK_FLAGS32 "VERR read-only data", 1
        verw ax
        CHECK_FLAGS32 "VERW read-only data", 0
        mov ax, SEL_DATA
        verw ax
        CHECK_FLAGS32 "VERW writable data", 1
        mov ax, SEL_CODE32
        verw ax
        CHECK_FLAGS32 "VERW code", 0
        mov ax, SEL_NP
        verw ax
        CHECK_FLAGS32 "VERW not-present data (no fault)", 1
        xor ax, ax
        verr ax
        CHECK_FLAGS32 "VERR null", 0
        ENTER_RING3
        mov ax, SEL_DATA
        verr ax
        setz bl
        mov ax, SEL_DATA3 | 3
        verw ax
        setz bh
        LEAVE_RING3
        CHECK32M "VERR DPL-0 data at CPL 3", ebx, 0xFF, 0
        CHECK32M "VERW DPL-3 data at CPL 3", ebx, 0xFF00, 0x100
        PEND

        PGROUP "arpl"
        mov ax, 0x0010
        mov bx, 0x0013
        arpl ax, bx
        CHECK_FLAGS32 "ARPL raises RPL: ZF", 1
        CHECK32M "ARPL result", eax, 0xFFFF, 0x13
        mov bx, 0x0011
        arpl ax, bx
        CHECK_FLAGS32 "ARPL with lower RPL: ZF", 0
        CHECK32M "unchanged", eax, 0xFFFF, 0x13
        PEND
        ret

t_sysregs:
        PGROUP "sgdt-sidt-sldt-str"
        sgdt [dt_buf]
        CHECK32M "SGDT limit", [dt_buf], 0xFFFF, PM_GDT_LIMIT
        CHECK32 "SGDT base", [dt_buf+2], GDT_BASE
        sidt [dt_buf]
        CHECK32M "SIDT limit", [dt_buf], 0xFFFF, 0x7FF
        CHECK32 "SIDT base", [dt_buf+2], IDT_BASE
        mov ax, 0xFFFF
        sldt ax
        CHECK32M "SLDT before LLDT", eax, 0xFFFF, 0
        mov ax, SEL_LDT
        lldt ax
        mov ax, 0xFFFF
        sldt ax
        CHECK32M "SLDT", eax, 0xFFFF, SEL_LDT
        mov ax, 0x04 | 0                ; LDT entry 0
        mov es, ax
        mov dword [es:0x9100], 0xABCD
        mov eax, [0x9100]
        CHECK32 "access through an LDT selector", eax, 0xABCD
        mov ax, 0x0C                    ; LDT entry 1: null descriptor
        lar ebx, eax
        CHECK_FLAGS32 "LAR null LDT entry", 0
        mov ax, SEL_DATA
        mov es, ax
        xor ax, ax
        lldt ax
        str ax
        CHECK32M "STR", eax, 0xFFFF, SEL_TSS
        PEND

        PGROUP "smsw-lmsw-clts"
        clts
        smsw ax
        CHECK32M "SMSW: PE, no TS/EM", eax, 0x000D, 1
        mov ax, 0x000B                  ; PE MP TS
        lmsw ax
        mov eax, cr0
        CHECK32M "LMSW sets MP, TS", eax, 0xF, 0xB
        xor ax, ax
        lmsw ax
        mov eax, cr0
        CHECK32M "LMSW cannot clear PE", eax, 0xF, 1
        mov ax, 8
        lmsw ax
        clts
        mov eax, cr0
        CHECK32M "CLTS", eax, 0xF, 1
        ARM32 .a
        ENTER_RING3
.a0:    clts
.a:     CHECK_EXC32 "CLTS at CPL 3", 13, 0, .a0
        ARM32 .b
        ENTER_RING3
.b0:    lmsw ax
.b:     CHECK_EXC32 "LMSW at CPL 3", 13, 0, .b0
        ARM32 0
        ENTER_RING3
        smsw ax
        str bx
        LEAVE_RING3
        CHECK_NOEXC32 "SMSW and STR at CPL 3"
        CHECK32M "SMSW at CPL 3", eax, 1, 1
        CHECK32M "STR at CPL 3", ebx, 0xFFFF, SEL_TSS
        PEND
        ret

bits 16
        ROM_END
