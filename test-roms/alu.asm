; alu.asm - results and defined flags of every 8086 ALU instruction.
;
; Each group runs one instruction form over a table of operands (boundary
; values plus pseudo-random ones from an assemble-time LCG) and a few input
; FLAGS patterns, and folds AX, DX and FLAGS (masked to the flags the Intel
; manuals define for that instruction and count) into a CRC-32.  The CRC is
; compared with a constant taken from QEMU (TCG) and Bochs, which agree.
;
; 8086-compatible code, so it runs on every CPU model.  Inputs on which the
; 8086 and the 286+ legitimately differ are left out here and checked per
; CPU class by interrupts.asm instead:
;   * DAA/DAS with AF=1, CF=0 and AL in 9A..9F (the 8086 compares AL with 9F
;     instead of 99 when AF is set), and DAS with AF=1, CF=0 and AL < 6 (the
;     borrow of AL-6 sets CF on the 386+, not on the 8086);
;   * AAA with AL >= FA and AAS with AF=1 and AL < 6 (the 8086 adjusts AL and
;     AH separately, the 286+ add/subtract 106h to/from AX as a whole);
;   * IDIV with quotient 80h/8000h (a divide error on the 8086) is folded as
;     a divide error on every CPU; IDIV is only fed dividends whose quotient
;     fits, because the 286 has undocumented results for some overflows.
; Divide errors fold the token DEAD instead of registers.
;
; Build with -DALU_TRACE to print every case (inputs, outputs) so that two
; emulators' traces can be diffed to find the first differing case.

%define ROM_NAME "alu"
%include "common.inc"

absolute ROM_VARS
crc_lo:         resw 1
crc_hi:         resw 1
save_sp:        resw 1
faulted:        resb 1
                resb 1
d_ptr:          resw 1              ; current group descriptor
idx_i:          resw 1              ; index into table A
idx_j:          resw 1              ; index into table B
idx_f:          resw 1              ; index into the FLAGS table
idx_k:          resw 1              ; cycling index for the C value
in_a:           resw 1
in_b:           resw 1
in_c:           resw 1
in_f:           resw 1
case_mask:      resw 1
mem_scratch:    resw 1
section .text

; Descriptor layout (see ALU below).
D_ROUTINE       equ 0
D_TAB_A         equ 2
D_TAB_B         equ 4
D_TAB_F         equ 6
D_MASK          equ 8
D_MASKTAB       equ 10
D_EXPECT        equ 12
D_NAME          equ 16

main:
        call crc_selftest
        mov si, alu_groups
.next:  cmp word [cs:si], 0
        je .done
        call run_group
        jmp .next
.done:  jmp finish

; The CRC routine itself must work before its results mean anything.
crc_selftest:
        GROUP "crc-selftest"
        call crc_init
        mov si, s_digits
.l:     mov al, [cs:si]
        test al, al
        jz .e
        call crc_byte
        inc si
        jmp .l
.e:     call crc_final
        CHECK16 "crc32('123456789') hi", dx, 0xCBF4
        CHECK16 "crc32('123456789') lo", ax, 0x3926
        END_GROUP
        ret
s_digits: db "123456789", 0

; run_group: CS:SI = descriptor; returns CS:SI = next descriptor.
run_group:
        mov [d_ptr], si
        push si
        add si, D_NAME
        call group_begin
        pop si
        call crc_init
        ARM do_case.fault
        mov word [idx_k], 0
        mov word [idx_i], 0
.li:    mov word [idx_j], 0
.lj:    mov word [idx_f], 0
.lf:    call do_case
        mov bx, [d_ptr]
        inc word [idx_f]
        mov si, [cs:bx+D_TAB_F]
        mov ax, [idx_f]
        cmp ax, [cs:si]
        jb .lf
        inc word [idx_j]
        mov si, [cs:bx+D_TAB_B]
        mov ax, [idx_j]
        cmp ax, [cs:si]
        jb .lj
        inc word [idx_i]
        mov si, [cs:bx+D_TAB_A]
        mov ax, [idx_i]
        cmp ax, [cs:si]
        jb .li
        call disarm
        call crc_final
        mov si, [d_ptr]
        cmp ax, [cs:si+D_EXPECT]
        jne .bad
        cmp dx, [cs:si+D_EXPECT+2]
        je .good
.bad:   call fail_begin
        push si
        mov si, s_crc
        call puts
        call puthex32
        mov si, s_want
        call puts
        pop si
        mov ax, [cs:si+D_EXPECT]
        mov dx, [cs:si+D_EXPECT+2]
        call puthex32
        call newline
.good:  call group_end
        add si, D_NAME
.skip:  mov al, [cs:si]
        inc si
        test al, al
        jnz .skip
        ret
s_crc:  db "crc ", 0

; Load the inputs of case (i, j, f), run the routine, fold the outcome.
do_case:
        mov si, [d_ptr]
        mov bx, [cs:si+D_TAB_A]
        mov di, [idx_i]
        add di, di
        mov ax, [cs:bx+di+2]
        mov [in_a], ax
        mov bx, [cs:si+D_TAB_B]
        mov di, [idx_j]
        add di, di
        mov ax, [cs:bx+di+2]
        mov [in_b], ax
        mov bx, [cs:si+D_MASKTAB]
        test bx, bx
        jz .fixed
        mov ax, [cs:bx+di]          ; per-B-value mask (shift counts)
        jmp .m
.fixed: mov ax, [cs:si+D_MASK]
.m:     mov [case_mask], ax
        mov bx, [cs:si+D_TAB_F]
        mov di, [idx_f]
        add di, di
        mov ax, [cs:bx+di+2]
        mov [in_f], ax
        mov di, [idx_k]
        add di, di
        mov ax, [cs:vals16+di+2]
        mov [in_c], ax
        inc word [idx_k]
        mov ax, [idx_k]
        cmp ax, [cs:vals16]
        jb .k
        mov word [idx_k], 0
.k:     mov si, [cs:si+D_ROUTINE]
        mov [save_sp], sp
        mov byte [faulted], 0
        mov ax, [in_a]
        mov bx, [in_b]
        mov dx, [in_c]
        mov cx, 0xC3C3
        push word [in_f]
        popf
        call si
        pushf
        pop cx
        jmp .post
.fault: mov sp, [save_sp]           ; divide error: the handler resumes here
        mov byte [faulted], 1
.post:  cmp byte [faulted], 0
        jne .tok
        and cx, [case_mask]
%ifdef ALU_TRACE
        call trace_case
%endif
        push cx
        push dx
        call crc_word
        pop ax
        call crc_word
        pop ax
        jmp crc_word
.tok:   cmp byte [exc_vec], 0
        je .de
        FAIL "interrupt other than divide error during an ALU case"
.de:    mov ax, 0xDEAD
%ifdef ALU_TRACE
        call trace_case
%endif
        jmp crc_word

%ifdef ALU_TRACE
; Print "<group> a b c f -> ax dx flags" (or "-> DEAD") for one case.
trace_case:
        push ax
        push si
        mov si, [grp_name]
        call puts
        mov al, ' '
        call putc
        mov ax, [in_a]
        call puthex16
        mov al, ' '
        call putc
        mov ax, [in_b]
        call puthex16
        mov al, ' '
        call putc
        mov ax, [in_c]
        call puthex16
        mov al, ' '
        call putc
        mov ax, [in_f]
        call puthex16
        PRINT " -> "
        pop si
        pop ax
        call puthex16
        cmp byte [faulted], 0
        jne .nl
        push ax
        mov al, ' '
        call putc
        mov ax, dx
        call puthex16
        mov al, ' '
        call putc
        mov ax, cx
        call puthex16
        pop ax
.nl:    jmp newline
%endif

; ------------------------------------------------------------------ CRC-32
; Reflected CRC-32 (polynomial EDB88320), kept in crc_hi:crc_lo, DS=0.

crc_init:
        mov word [crc_lo], 0xFFFF
        mov word [crc_hi], 0xFFFF
        ret

; crc_final: DX:AX = final CRC.
crc_final:
        mov ax, [crc_lo]
        mov dx, [crc_hi]
        not ax
        not dx
        ret

; crc_word: fold AX (low byte first); crc_byte: fold AL.
crc_word:
        push ax
        call crc_byte
        pop ax
        mov al, ah
crc_byte:
        push ax
        push bx
        push cx
        push dx
        mov bx, [crc_lo]
        xor bl, al
        mov bh, 0
        shl bx, 1
        shl bx, 1
        mov cx, [crc_lo]
        mov dx, [crc_hi]
        mov cl, ch
        mov ch, dl
        mov dl, dh
        mov dh, 0
        xor cx, [cs:crc_table+bx]
        xor dx, [cs:crc_table+bx+2]
        mov [crc_lo], cx
        mov [crc_hi], dx
        pop dx
        pop cx
        pop bx
        pop ax
        ret

crc_table:
%assign i 0
%rep 256
%assign c i
%rep 8
%if c & 1
%assign c (c >> 1) ^ 0xEDB88320
%else
%assign c c >> 1
%endif
%endrep
        dd c
%assign i i+1
%endrep

; ---------------------------------------------------------------- operands
; Tables: dw count, then count words.  8-bit operand tables carry a
; pseudo-random high byte so that AH/BH garbage is part of every case.

%assign lcg 0x2545F491
%macro LCG 0
%assign lcg (lcg * 1103515245 + 12345) & 0x7FFFFFFF
%assign rnd (lcg >> 15) & 0xFFFF
%endmacro

%macro BYTES 1-*
%rep %0
        LCG
        dw (rnd & 0xFF00) | (%1 & 0xFF)
%rotate 1
%endrep
%endmacro

%macro WORDS 1-*
%rep %0
        dw %1
%rotate 1
%endrep
%endmacro

%macro RANDOM_WORDS 1
%rep %1
        LCG
        dw rnd
%endrep
%endmacro

vals8:  dw 20
        BYTES 0x00, 0x01, 0x02, 0x0F, 0x10, 0x3F, 0x40, 0x7E, 0x7F, 0x80
        BYTES 0x81, 0xC0, 0xF0, 0xFE, 0xFF
%rep 5
        LCG
        dw rnd
%endrep

vals16: dw 24
        WORDS 0x0000, 0x0001, 0x0002, 0x000F, 0x007F, 0x0080, 0x00FF, 0x0100
        WORDS 0x3FFF, 0x4000, 0x7FFE, 0x7FFF, 0x8000, 0x8001, 0xC000, 0xFF00
        WORDS 0xFFFE, 0xFFFF
        RANDOM_WORDS 6

; every byte value, with a random high byte
bytes_all:
        dw 256
%assign i 0
%rep 256
        LCG
        dw (rnd & 0xFF00) | i
%assign i i+1
%endrep

; every byte value except 9A..9F (DAA/DAS with AF=1, CF=0)
bytes_no9x:
        dw 250
%assign i 0
%rep 256
%if i < 0x9A || i > 0x9F
        LCG
        dw (rnd & 0xFF00) | i
%endif
%assign i i+1
%endrep

; every byte value except 00..05 and 9A..9F (DAS with AF=1, CF=0)
bytes_das_af:
        dw 244
%assign i 0
%rep 256
%if (i > 0x05 && i < 0x9A) || i > 0x9F
        LCG
        dw (rnd & 0xFF00) | i
%endif
%assign i i+1
%endrep

; 00..F9 (AAA: the 8086 and 286+ differ on AH for AL >= FA)
bytes_lt_fa:
        dw 0xFA
%assign i 0
%rep 0xFA
        LCG
        dw (rnd & 0xFF00) | i
%assign i i+1
%endrep

; 06..FF (AAS with AF=1: they differ on AH for AL < 6)
bytes_ge6:
        dw 250
%assign i 6
%rep 250
        LCG
        dw (rnd & 0xFF00) | i
%assign i i+1
%endrep

; shift counts 0..17 in CL (BL), random BH
counts: dw 18
%assign i 0
%rep 18
        LCG
        dw (rnd & 0xFF00) | i
%assign i i+1
%endrep

one:    dw 1, 0x5A3C

; FLAGS input patterns (DF, IF, TF always clear)
fs2:    dw 2, 0x0002, 0x08D7
fs4:    dw 4, 0x0002, 0x08C7, 0x0016, 0x08D7
fs_af0: dw 2, 0x0002, 0x08C7                ; AF=0, CF=0/1
fs_af1: dw 2, 0x0016, 0x08D7                ; AF=1, CF=0/1
fs_af1c0: dw 1, 0x08D6                      ; AF=1, CF=0
fs_daa: dw 3, 0x0002, 0x08C7, 0x08D7        ; not (AF=1 and CF=0)

; Defined-flag masks per shift count 0..17 (Intel SDM, SAL/SAR/SHL/SHR and
; RCL/RCR/ROL/ROR): count 0 changes nothing; OF only for count 1; AF never;
; CF undefined for SHL/SHR when count >= operand size; rotates keep SF, ZF,
; AF and PF.
M_SH1   equ F_OF | F_SF | F_ZF | F_PF | F_CF
M_SHN   equ F_SF | F_ZF | F_PF | F_CF
M_SHNC  equ F_SF | F_ZF | F_PF
M_ROTN  equ F_SF | F_ZF | F_AF | F_PF | F_CF
m_sh8:  dw F_ARITH, M_SH1
        times 6 dw M_SHN
        times 10 dw M_SHNC
m_sh16: dw F_ARITH, M_SH1
        times 14 dw M_SHN
        times 2 dw M_SHNC
m_sar:  dw F_ARITH, M_SH1
        times 16 dw M_SHN
m_rot:  dw F_ARITH, F_ARITH
        times 16 dw M_ROTN

M_LOGIC equ F_OF | F_SF | F_ZF | F_PF | F_CF
M_MUL   equ F_OF | F_CF
M_SZP   equ F_SF | F_ZF | F_PF
M_DAA   equ F_SF | F_ZF | F_AF | F_PF | F_CF
M_AAA   equ F_AF | F_CF

; --------------------------------------------------------------- routines
; Entered with AX = A, BX = B, DX = C, CX = C3C3 and FLAGS = the pattern.

op_add8:  add al, bl
          ret
op_adc8:  adc al, bl
          ret
op_sub8:  sub al, bl
          ret
op_sbb8:  sbb al, bl
          ret
op_cmp8:  cmp al, bl
          ret
op_and8:  and al, bl
          ret
op_or8:   or al, bl
          ret
op_xor8:  xor al, bl
          ret
op_test8: test al, bl
          ret
op_add16: add ax, bx
          ret
op_adc16: adc ax, bx
          ret
op_sub16: sub ax, bx
          ret
op_sbb16: sbb ax, bx
          ret
op_cmp16: cmp ax, bx
          ret
op_and16: and ax, bx
          ret
op_or16:  or ax, bx
          ret
op_xor16: xor ax, bx
          ret
op_test16: test ax, bx
          ret
; memory and immediate forms go through the same ALU; one of each
op_addm8: mov [mem_scratch], bl
          add [mem_scratch], al
          mov al, [mem_scratch]
          ret
op_subi16: sub ax, 0x1234
          ret
op_inc8:  inc al
          ret
op_dec8:  dec al
          ret
op_neg8:  neg al
          ret
op_not8:  not al
          ret
op_inc16: inc ax
          ret
op_dec16: dec ax
          ret
op_neg16: neg ax
          ret
op_not16: not ax
          ret
op_mul8:  mul bl
          ret
op_imul8: imul bl
          ret
op_mul16: mul bx
          ret
op_imul16: imul bx
          ret
op_div8:  div bl
          ret
op_div8s: and ah, 0x0F
          div bl
          ret
op_div16: div bx
          ret
op_div16s: mov dl, dh
          mov dh, 0
          div bx
          ret
op_idiv8a: cbw
          idiv bl
          jmp idiv8_check
op_idiv8c: imul bl
          idiv bl
idiv8_check:
          cmp al, 0x80
          je force_de
          ret
op_idiv16a: cwd
          idiv bx
          jmp idiv16_check
op_idiv16c: imul bx
          idiv bx
idiv16_check:
          cmp ax, 0x8000
          je force_de
          ret
force_de: int 0                     ; fold like the 8086's divide error
          ret
op_aam:   aam
          ret
op_aam16: db 0xD4, 0x10
          ret
op_aam7:  db 0xD4, 0x07
          ret
op_aamff: db 0xD4, 0xFF
          ret
op_aad:   aad
          ret
op_aad16: db 0xD5, 0x10
          ret
op_aad7:  db 0xD5, 0x07
          ret
op_aadff: db 0xD5, 0xFF
          ret
op_daa:   daa
          ret
op_das:   das
          ret
op_aaa:   aaa
          ret
op_aas:   aas
          ret
op_cbw:   cbw
          ret
op_cwd:   cwd
          ret
op_sahf:  mov ah, al
          sahf
          ret
op_lahf:  mov ah, 0
          and al, 0xD5
          push ax
          popf
          lahf
          ret
op_clc:   clc
          ret
op_stc:   stc
          ret
op_cmc:   cmc
          ret

%macro SHIFT_OPS 1
op_%1_8:   mov cl, bl
           %1 al, cl
           ret
op_%1_16:  mov cl, bl
           %1 ax, cl
           ret
op_%1_8x1: %1 al, 1
           ret
op_%1_16x1: %1 ax, 1
           ret
%endmacro
        SHIFT_OPS rol
        SHIFT_OPS ror
        SHIFT_OPS rcl
        SHIFT_OPS rcr
        SHIFT_OPS shl
        SHIFT_OPS shr
        SHIFT_OPS sar

; ------------------------------------------------------------------ groups
; ALU name, routine, table A, table B, FLAGS table, mask, mask table, CRC

%macro ALU 8
        NEXT_CHECK
        dw %2, %3, %4, %5, %6, %7
%ifdef MUTATE_THIS
        dd %8 ^ 1
%else
        dd %8
%endif
        db %1, 0
%endmacro

alu_groups:
        ALU "add8",   op_add8,   vals8,  vals8, fs2, F_ARITH, 0, 0x8EBD085E
        ALU "adc8",   op_adc8,   vals8,  vals8, fs2, F_ARITH, 0, 0xF74BCE6B
        ALU "sub8",   op_sub8,   vals8,  vals8, fs2, F_ARITH, 0, 0xEAE116BB
        ALU "sbb8",   op_sbb8,   vals8,  vals8, fs2, F_ARITH, 0, 0x888A97E4
        ALU "cmp8",   op_cmp8,   vals8,  vals8, fs2, F_ARITH, 0, 0x1C37B259
        ALU "and8",   op_and8,   vals8,  vals8, fs2, M_LOGIC, 0, 0x5FAF15BA
        ALU "or8",    op_or8,    vals8,  vals8, fs2, M_LOGIC, 0, 0x3717E687
        ALU "xor8",   op_xor8,   vals8,  vals8, fs2, M_LOGIC, 0, 0x0DB98865
        ALU "test8",  op_test8,  vals8,  vals8, fs2, M_LOGIC, 0, 0xDDF25C3E
        ALU "add16",  op_add16,  vals16, vals16, fs2, F_ARITH, 0, 0xEC54445B
        ALU "adc16",  op_adc16,  vals16, vals16, fs2, F_ARITH, 0, 0x3BFE9E93
        ALU "sub16",  op_sub16,  vals16, vals16, fs2, F_ARITH, 0, 0x13029685
        ALU "sbb16",  op_sbb16,  vals16, vals16, fs2, F_ARITH, 0, 0x62225EC3
        ALU "cmp16",  op_cmp16,  vals16, vals16, fs2, F_ARITH, 0, 0x69978ACC
        ALU "and16",  op_and16,  vals16, vals16, fs2, M_LOGIC, 0, 0x8054ED12
        ALU "or16",   op_or16,   vals16, vals16, fs2, M_LOGIC, 0, 0x2BC53EFE
        ALU "xor16",  op_xor16,  vals16, vals16, fs2, M_LOGIC, 0, 0x95A44F99
        ALU "test16", op_test16, vals16, vals16, fs2, M_LOGIC, 0, 0xE7E86BC3
        ALU "add-mem8", op_addm8, vals8, vals8, fs2, F_ARITH, 0, 0x8EBD085E
        ALU "sub-imm16", op_subi16, vals16, one, fs2, F_ARITH, 0, 0x8AA34101
        ALU "inc8",   op_inc8,   vals8,  one, fs2, F_ARITH, 0, 0xBD288718
        ALU "dec8",   op_dec8,   vals8,  one, fs2, F_ARITH, 0, 0x5CDFFF98
        ALU "neg8",   op_neg8,   vals8,  one, fs2, F_ARITH, 0, 0x6F34C06C
        ALU "not8",   op_not8,   vals8,  one, fs2, F_ARITH, 0, 0xD9DC0166
        ALU "inc16",  op_inc16,  vals16, one, fs2, F_ARITH, 0, 0x5FC4B8CF
        ALU "dec16",  op_dec16,  vals16, one, fs2, F_ARITH, 0, 0x62A51EC7
        ALU "neg16",  op_neg16,  vals16, one, fs2, F_ARITH, 0, 0x32142475
        ALU "not16",  op_not16,  vals16, one, fs2, F_ARITH, 0, 0xA5C4A47A
        ALU "mul8",   op_mul8,   vals8,  vals8, fs2, M_MUL, 0, 0xBA10F406
        ALU "imul8",  op_imul8,  vals8,  vals8, fs2, M_MUL, 0, 0xD2A4D834
        ALU "mul16",  op_mul16,  vals16, vals16, fs2, M_MUL, 0, 0x89A58E4E
        ALU "imul16", op_imul16, vals16, vals16, fs2, M_MUL, 0, 0x5F69236D
        ALU "div8",   op_div8,   vals8,  vals8, fs2, 0, 0, 0x28A81C9A
        ALU "div8-small", op_div8s, vals8, vals8, fs2, 0, 0, 0xF54BDDBE
        ALU "idiv8-cbw", op_idiv8a, vals8, vals8, fs2, 0, 0, 0xC79B6AA7
        ALU "idiv8-product", op_idiv8c, vals8, vals8, fs2, 0, 0, 0x70D61D3D
        ALU "div16",  op_div16,  vals16, vals16, fs2, 0, 0, 0x2D528064
        ALU "div16-small", op_div16s, vals16, vals16, fs2, 0, 0, 0x7F90AC9C
        ALU "idiv16-cwd", op_idiv16a, vals16, vals16, fs2, 0, 0, 0x9F0B785F
        ALU "idiv16-product", op_idiv16c, vals16, vals16, fs2, 0, 0, 0xD764CC4B
        ALU "aam",    op_aam,    bytes_all, one, fs2, M_SZP, 0, 0x35F1E4CE
        ALU "aam-16", op_aam16,  bytes_all, one, fs2, M_SZP, 0, 0x95C816FF
        ALU "aam-7",  op_aam7,   bytes_all, one, fs2, M_SZP, 0, 0x7214C380
        ALU "aam-ff", op_aamff,  bytes_all, one, fs2, M_SZP, 0, 0x0FE21B61
        ALU "aad",    op_aad,    vals16, one, fs2, M_SZP, 0, 0x8074B702
        ALU "aad-16", op_aad16,  vals16, one, fs2, M_SZP, 0, 0x3A426D1E
        ALU "aad-7",  op_aad7,   vals16, one, fs2, M_SZP, 0, 0x0720FAE4
        ALU "aad-ff", op_aadff,  vals16, one, fs2, M_SZP, 0, 0xED208C54
        ALU "daa",    op_daa,    bytes_all, one, fs_daa, M_DAA, 0, 0xE56869C3
        ALU "daa-af", op_daa,    bytes_no9x, one, fs_af1c0, M_DAA, 0, 0xFE8D587C
        ALU "das",    op_das,    bytes_all, one, fs_daa, M_DAA, 0, 0x0B27F57F
        ALU "das-af", op_das,    bytes_das_af, one, fs_af1c0, M_DAA, 0, 0x6EBAAE71
        ALU "aaa",    op_aaa,    bytes_lt_fa, one, fs4, M_AAA, 0, 0x8109F20A
        ALU "aas",    op_aas,    bytes_all, one, fs_af0, M_AAA, 0, 0x6D0559A9
        ALU "aas-af", op_aas,    bytes_ge6, one, fs_af1, M_AAA, 0, 0x3627B4CB
        ALU "cbw",    op_cbw,    vals8,  one, fs2, F_ARITH, 0, 0x5E7FFA23
        ALU "cwd",    op_cwd,    vals16, one, fs2, F_ARITH, 0, 0x4D80F24B
        ALU "sahf",   op_sahf,   bytes_all, one, fs2, F_ARITH, 0, 0xA091E953
        ALU "lahf",   op_lahf,   bytes_all, one, fs2, F_ARITH, 0, 0x2D9605AF
        ALU "clc",    op_clc,    one, one, fs4, F_ARITH, 0, 0x8D0B1439
        ALU "stc",    op_stc,    one, one, fs4, F_ARITH, 0, 0xA0D2FFD6
        ALU "cmc",    op_cmc,    one, one, fs4, F_ARITH, 0, 0x24C62FE1

; SHIFT_GROUPS op, mask table (8-bit), mask table (16-bit), 4 x CRC: by CL 0..17 and
; by 1 (the by-1 forms use the count-1 entry of the table).
; The last four arguments are the CRCs of the four groups.
%macro SHIFT_GROUPS 7
        ALU {%str(%1), "8-cl"},  op_%1_8,    vals8,  counts, fs2, 0, %2, %4
        ALU {%str(%1), "16-cl"}, op_%1_16,   vals16, counts, fs2, 0, %3, %5
        ALU {%str(%1), "8-1"},   op_%1_8x1,  vals8,  one, fs2, 0, %2+2, %6
        ALU {%str(%1), "16-1"},  op_%1_16x1, vals16, one, fs2, 0, %3+2, %7
%endmacro
        SHIFT_GROUPS rol, m_rot, m_rot, \
                     0xB381399A, 0xAA8B57B2, 0xBAD9C87E, 0x8323B0EA
        SHIFT_GROUPS ror, m_rot, m_rot, \
                     0x3087FABD, 0x95CD4D76, 0xDFFBE3EA, 0xF20BEBF2
        SHIFT_GROUPS rcl, m_rot, m_rot, \
                     0xE0B1348A, 0x27EC249A, 0x77A25A69, 0xDB209A01
        SHIFT_GROUPS rcr, m_rot, m_rot, \
                     0xEB61C882, 0x769D18E2, 0x6B85D639, 0xB55E35AE
        SHIFT_GROUPS shl, m_sh8, m_sh16, \
                     0xE29CB31D, 0x440C234C, 0x980BFCE1, 0xDE4DCC1E
        SHIFT_GROUPS shr, m_sh8, m_sh16, \
                     0x6626D80B, 0x22044C34, 0x9F310EAD, 0x4371F54A
        SHIFT_GROUPS sar, m_sar, m_sar, \
                     0x9C0ABE35, 0x68902B0A, 0x33112A3E, 0xA4CD56EB
        dw 0

        ROM_END
