; x87.asm - the on-chip x87 of the 486 and later, in real mode: precision
; control (24/53/64 bits) and rounding control (all four) on hard cases
; (ties at each precision, sums that double rounding would get wrong, 1/3,
; 2/3, sqrt(2), denormal results and the smallest denormal), overflow per
; RC, invalid operations (QNaN indefinite), division by zero, FIST/FBSTP
; out of range, FPREM/FPREM1 quotient bits, FXAM classes, FSCALE, FXTRACT,
; exact FPTAN/FSIN/FCOS cases, FCOM/FUCOM with a NaN (FCOMI on the P6),
; the FSAVE image, and an unmasked exception reported as #MF (CR0.NE=1,
; vector 16) or as IRQ 13 (CR0.NE=0, slave 8259 line 5 = vector 75h).
;
; Every result is compared bit for bit (80-bit patterns, status word
; exception flags); the expected values are the exactly rounded results.
; C1 (set when a result was rounded up) is not compared.
;
; Build flags for validating on QEMU, whose TCG x87 deviates (README.md):
; NO_X87_DE (no DE flag for denormal operands), NO_FPREM1_Q (FPREM1 leaves
; the quotient bits clear), NO_IRQ13 (FERR# to IRQ 13 does not work).

%define ROM_NAME "x87"
%include "common.inc"
cpu 686

%ifdef NO_X87_DE
FLAG_MASK       equ 0x3D            ; DE not compared
%else
FLAG_MASK       equ 0x3F
%endif

RES             equ 0x0800          ; 80-bit results
SAVE            equ 0x0900          ; FSAVE image (94 bytes)

OP_DIV          equ 0
OP_ADD          equ 1
OP_MUL          equ 2
OP_SQRT         equ 3
%define DIV OP_DIV
%define ADD OP_ADD
%define MUL OP_MUL
%define SQRT OP_SQRT

; CASE "name", cw, op, a (sign/exponent, significand), b, want, flags -
; one row: fninit, fldcw cw, ST0 = a op b (or sqrt a), FSTP m80.
%macro CASE 10
%%row:  dw %%next, %%name, %2
        db %3
        dq %5
        dw %4
        dq %7
        dw %6
        dq %9
        dw %8
        dw %10
%%name: db %1, 0
%%next:
%endmacro

; CHECK80 "what", sign/exponent, significand - the 80-bit value at RES.
%macro CHECK80 3
        CHECK16 %1, [RES+8], %2
        CHECK16 %1, [RES+6], (%3 >> 48) & 0xFFFF
        CHECK16 %1, [RES+4], (%3 >> 32) & 0xFFFF
        CHECK16 %1, [RES+2], (%3 >> 16) & 0xFFFF
        CHECK16 %1, [RES], %3 & 0xFFFF
%endmacro

; SW_IS "what", mask, want - FNSTSW AX & mask.
%macro SW_IS 3
        fnstsw ax
        and ax, %2
        CHECK16 %1, ax, %3
%endmacro

main:
        IF_CLASS_AT_LEAST CLASS_486, .go
        PRINT `note: no on-chip x87 before the 486\n`
        jmp finish
.go:    mov eax, cr0
        and eax, ~0x2C                  ; EM TS NE clear
        or eax, 0x22                    ; MP, NE
        mov cr0, eax
        call t_cases
        call t_fist_fbstp
        call t_fprem
        call t_fxam
        call t_scale_extract
        call t_trig
        call t_compare
        call t_fsave
        call t_mf
        call t_irq13
        jmp finish

; ------------------------------------------------------------ the table

t_cases:
        GROUP "x87-rounding"
        mov si, cases
.l:     cmp word [cs:si], 0
        je .done
        fninit
        fldcw [cs:si+4]
        fld tword [cs:si+7]
        mov al, [cs:si+6]
        cmp al, OP_SQRT
        jne .bin
        fsqrt
        jmp .st
.bin:   fld tword [cs:si+17]
        cmp al, OP_DIV
        jne .n1
        fdivp st1, st0
        jmp .st
.n1:    cmp al, OP_ADD
        jne .n2
        faddp st1, st0
        jmp .st
.n2:    fmulp st1, st0
.st:    fstp tword [RES]
        fnstsw ax
        and ax, FLAG_MASK
        mov cx, 5
        mov bx, 0
.cmp:   mov dx, [RES+bx]
        cmp dx, [cs:si+27+bx]
        jne .bad
        add bx, 2
        loop .cmp
        mov dx, [cs:si+37]
        and dx, FLAG_MASK
        cmp ax, dx
        je .next
.bad:   push si
        call fail_begin
        mov si, [cs:si+2]
        call puts
        PRINT " got "
        mov bx, RES
        call put80
        PRINT " flags "
        call puthex8
        pop si
        PRINT " want "
        push ax
        mov ax, [cs:si+35]
        call puthex16
        mov al, ':'
        call putc
        mov ax, [cs:si+33]
        call puthex16
        mov ax, [cs:si+31]
        call puthex16
        mov ax, [cs:si+29]
        call puthex16
        mov ax, [cs:si+27]
        call puthex16
        PRINT " flags "
        mov al, [cs:si+37]
        call puthex8
        pop ax
        call newline
.next:  mov si, [cs:si]
        jmp .l
.done:  END_GROUP
        ret

; put80: the 80-bit value at DS:BX as SEXP:SIGNIFICAND.
put80:  push ax
        mov ax, [bx+8]
        call puthex16
        mov al, ':'
        call putc
        mov ax, [bx+6]
        call puthex16
        mov ax, [bx+4]
        call puthex16
        mov ax, [bx+2]
        call puthex16
        mov ax, [bx]
        call puthex16
        pop ax
        ret

MAXF_S          equ 0x7FFE
MAXF_M          equ 0xFFFFFFFFFFFFFFFF
INF_S           equ 0x7FFF
INF_M           equ 0x8000000000000000
TWO_S           equ 0x4000
ONE_S           equ 0x3FFF
ONE_M           equ 0x8000000000000000

cases:
        CASE "1/3 PC24 RN", 0x007F, DIV, 0x3FFF, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFD, 0xAAAAAB0000000000, 0x20
        CASE "1/3 PC53 RN", 0x027F, DIV, 0x3FFF, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFD, 0xAAAAAAAAAAAAA800, 0x20
        CASE "1/3 PC64 RN", 0x037F, DIV, 0x3FFF, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFD, 0xAAAAAAAAAAAAAAAB, 0x20
        CASE "1/3 PC64 RD", 0x077F, DIV, 0x3FFF, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFD, 0xAAAAAAAAAAAAAAAA, 0x20
        CASE "2/3 PC24 RD", 0x047F, DIV, 0x4000, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFE, 0xAAAAAA0000000000, 0x20
        CASE "1/3 PC64 RZ", 0x0F7F, DIV, 0x3FFF, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFD, 0xAAAAAAAAAAAAAAAA, 0x20
        CASE "2/3 PC24 RZ", 0x0C7F, DIV, 0x4000, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFE, 0xAAAAAA0000000000, 0x20
        CASE "1/3 PC64 RU", 0x0B7F, DIV, 0x3FFF, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFD, 0xAAAAAAAAAAAAAAAB, 0x20
        CASE "2/3 PC24 RU", 0x087F, DIV, 0x4000, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFE, 0xAAAAAB0000000000, 0x20
        CASE "2/3 PC53 RN", 0x027F, DIV, 0x4000, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x3FFE, 0xAAAAAAAAAAAAA800, 0x20
        CASE "-1/3 PC53 RD", 0x067F, DIV, 0xBFFF, 0x8000000000000000, 0x4000, 0xC000000000000000, 0xBFFD, 0xAAAAAAAAAAAAB000, 0x20
        CASE "-1/3 PC53 RU", 0x0A7F, DIV, 0xBFFF, 0x8000000000000000, 0x4000, 0xC000000000000000, 0xBFFD, 0xAAAAAAAAAAAAA800, 0x20
        CASE "sqrt 2 PC64 RN", 0x037F, SQRT, 0x4000, 0x8000000000000000, 0x4000, 0x8000000000000000, 0x3FFF, 0xB504F333F9DE6484, 0x20
        CASE "sqrt 2 PC64 RD", 0x077F, SQRT, 0x4000, 0x8000000000000000, 0x4000, 0x8000000000000000, 0x3FFF, 0xB504F333F9DE6484, 0x20
        CASE "sqrt 2 PC64 RZ", 0x0F7F, SQRT, 0x4000, 0x8000000000000000, 0x4000, 0x8000000000000000, 0x3FFF, 0xB504F333F9DE6484, 0x20
        CASE "sqrt 2 PC64 RU", 0x0B7F, SQRT, 0x4000, 0x8000000000000000, 0x4000, 0x8000000000000000, 0x3FFF, 0xB504F333F9DE6485, 0x20
        CASE "sqrt 2 PC24 RN", 0x007F, SQRT, 0x4000, 0x8000000000000000, 0x4000, 0x8000000000000000, 0x3FFF, 0xB504F30000000000, 0x20
        CASE "sqrt 2 PC53 RN", 0x027F, SQRT, 0x4000, 0x8000000000000000, 0x4000, 0x8000000000000000, 0x3FFF, 0xB504F333F9DE6800, 0x20
        CASE "1+2^-24 PC24 RN (tie, even down)", 0x007F, ADD, 0x3FFF, 0x8000000000000000, 0x3FE7, 0x8000000000000000, 0x3FFF, 0x8000000000000000, 0x20
        CASE "1+3*2^-24 PC24 RN (tie, even up)", 0x007F, ADD, 0x3FFF, 0x8000010000000000, 0x3FE7, 0x8000000000000000, 0x3FFF, 0x8000020000000000, 0x20
        CASE "1+2^-53 PC53 RN (tie)", 0x027F, ADD, 0x3FFF, 0x8000000000000000, 0x3FCA, 0x8000000000000000, 0x3FFF, 0x8000000000000000, 0x20
        CASE "1+2^-64 PC64 RN (tie)", 0x037F, ADD, 0x3FFF, 0x8000000000000000, 0x3FBF, 0x8000000000000000, 0x3FFF, 0x8000000000000000, 0x20
        CASE "1+2^-64 PC64 RU", 0x0B7F, ADD, 0x3FFF, 0x8000000000000000, 0x3FBF, 0x8000000000000000, 0x3FFF, 0x8000000000000001, 0x20
        CASE "1+2^-53+2^-64 PC53 RN (no double rounding)", 0x027F, ADD, 0x3FFF, 0x8000000000000400, 0x3FBF, 0x8000000000000000, 0x3FFF, 0x8000000000000800, 0x20
        CASE "1+2^-24+2^-64 PC24 RN (no double rounding)", 0x007F, ADD, 0x3FFF, 0x8000008000000000, 0x3FBF, 0x8000000000000000, 0x3FFF, 0x8000010000000000, 0x20
        CASE "min normal / 3 (denormal)", 0x037F, DIV, 0x0001, 0x8000000000000000, 0x4000, 0xC000000000000000, 0x0000, 0x2AAAAAAAAAAAAAAB, 0x30
        CASE "min denormal / 2 RN -> 0", 0x037F, DIV, 0x0000, 0x0000000000000001, 0x4000, 0x8000000000000000, 0x0000, 0x0000000000000000, 0x32
        CASE "min denormal / 2 RU -> min denormal", 0x0B7F, DIV, 0x0000, 0x0000000000000001, 0x4000, 0x8000000000000000, 0x0000, 0x0000000000000001, 0x32
        CASE "min denormal * 3/2 RN", 0x037F, MUL, 0x0000, 0x0000000000000001, 0x3FFF, 0xC000000000000000, 0x0000, 0x0000000000000002, 0x32
        ; overflow of the largest finite value per RC (OE, PE)
        CASE "max*2 RN -> inf", 0x037F, MUL, MAXF_S, MAXF_M, TWO_S, ONE_M, INF_S, INF_M, 0x28
        CASE "max*2 RZ -> max", 0x0F7F, MUL, MAXF_S, MAXF_M, TWO_S, ONE_M, MAXF_S, MAXF_M, 0x28
        CASE "max*2 RD -> max", 0x077F, MUL, MAXF_S, MAXF_M, TWO_S, ONE_M, MAXF_S, MAXF_M, 0x28
        CASE "max*2 RU -> inf", 0x0B7F, MUL, MAXF_S, MAXF_M, TWO_S, ONE_M, INF_S, INF_M, 0x28
        CASE "-max*2 RD -> -inf", 0x077F, MUL, MAXF_S | 0x8000, MAXF_M, TWO_S, ONE_M, INF_S | 0x8000, INF_M, 0x28
        CASE "-max*2 RU -> -max", 0x0B7F, MUL, MAXF_S | 0x8000, MAXF_M, TWO_S, ONE_M, MAXF_S | 0x8000, MAXF_M, 0x28
        CASE "max*2 PC24 RZ -> max (24 bits)", 0x0C7F, MUL, MAXF_S, MAXF_M, TWO_S, ONE_M, MAXF_S, 0xFFFFFF0000000000, 0x28
        ; invalid operations and division by zero
        CASE "0/0 -> indefinite (IE)", 0x037F, DIV, 0, 0, 0, 0, 0xFFFF, 0xC000000000000000, 0x01
        CASE "inf-inf -> indefinite (IE)", 0x037F, ADD, INF_S, INF_M, INF_S | 0x8000, INF_M, 0xFFFF, 0xC000000000000000, 0x01
        CASE "sqrt -1 -> indefinite (IE)", 0x037F, SQRT, ONE_S | 0x8000, ONE_M, 0, 0, 0xFFFF, 0xC000000000000000, 0x01
        CASE "1/0 -> inf (ZE)", 0x037F, DIV, ONE_S, ONE_M, 0, 0, INF_S, INF_M, 0x04
        CASE "-1/+0 -> -inf (ZE)", 0x037F, DIV, ONE_S | 0x8000, ONE_M, 0, 0, INF_S | 0x8000, INF_M, 0x04
        CASE "0*inf -> indefinite (IE)", 0x037F, MUL, 0, 0, INF_S, INF_M, 0xFFFF, 0xC000000000000000, 0x01
        dw 0

; ------------------------------------------------------------- integers

f40000:         dd 40000.0
f12345:         dd 12345.5
q1e18:          dq 1000000000000000000
f3e9:           dd 3.0e9

t_fist_fbstp:
        GROUP "fist-fbstp"
        fninit
        fld dword [cs:f40000]
        fistp word [RES]
        CHECK16 "FIST m16 of 40000: integer indefinite", [RES], 0x8000
        SW_IS "IE", 0x3F, 0x01
        fninit
        fld dword [cs:f3e9]
        fistp dword [RES]
        CHECK16 "FIST m32 of 3e9 (low)", [RES], 0
        CHECK16 "FIST m32 of 3e9 (high)", [RES+2], 0x8000
        SW_IS "IE", 0x3F, 0x01
        fninit
        fld dword [cs:f12345]           ; 12345.5: RN to even -> 12346
        fistp word [RES]
        CHECK16 "FIST rounds to even", [RES], 12346
        SW_IS "PE", 0x3F, 0x20
        fninit
        fld dword [cs:f12345]
        fchs
        fbstp tword [RES]
        CHECK16 "FBSTP -12345.5: digits", [RES], 0x2346
        CHECK16 "FBSTP digits", [RES+2], 0x0001
        CHECK16 "FBSTP sign byte", [RES+8], 0x8000
        fninit
        fild qword [cs:q1e18]
        fbstp tword [RES]
        CHECK16 "FBSTP 1e18: BCD indefinite", [RES+8], 0xFFFF
        CHECK16 "BCD indefinite", [RES+6], 0xC000
        CHECK16 "BCD indefinite", [RES], 0
        SW_IS "IE", 0x3F, 0x01
        END_GROUP
        ret

; ---------------------------------------------------------------- FPREM

w3:             dw 3
w7:             dw 7
w8:             dw 8

t_fprem:
        GROUP "fprem"
        fninit
        fild word [cs:w3]
        fild word [cs:w7]
        fprem                           ; 7 = 2*3 + 1
        SW_IS "FPREM 7,3: Q=2 (C3)", 0x4700, 0x4000
        fstp tword [RES]
        CHECK80 "FPREM 7,3 remainder", ONE_S, ONE_M
        fninit
        fild word [cs:w3]
        fild word [cs:w8]
        fprem                           ; 8 = 2*3 + 2
        SW_IS "FPREM 8,3: Q=2", 0x4700, 0x4000
        fstp tword [RES]
        CHECK80 "FPREM 8,3 remainder", TWO_S, ONE_M
        fninit
        fild word [cs:w3]
        fild word [cs:w8]
        fprem1                          ; 8 = 3*3 - 1
%ifndef NO_FPREM1_Q
        SW_IS "FPREM1 8,3: Q=3 (C3 C1)", 0x4700, 0x4200
%endif
        fstp tword [RES]
        CHECK80 "FPREM1 8,3 remainder", ONE_S | 0x8000, ONE_M
        fninit
        fild word [cs:w3]
        fild word [cs:w7]
        fchs
        fprem                           ; -7 = -2*3 - 1
        SW_IS "FPREM -7,3: Q=2", 0x4700, 0x4000
        fstp tword [RES]
        CHECK80 "FPREM -7,3: sign of the dividend", ONE_S | 0x8000, ONE_M
        END_GROUP
        ret

; ----------------------------------------------------------------- FXAM

denorm:         dq 1
                dw 0
qnan:           dq 0xC000000000000001
                dw 0x7FFF

t_fxam:
        GROUP "fxam"
        fninit
        fxam
        SW_IS "empty", 0x4500, 0x4100
        fldz
        fxam
        SW_IS "+0", 0x4700, 0x4000
        fchs
        fxam
        SW_IS "-0", 0x4700, 0x4200
        fld tword [cs:denorm]
        fxam
        SW_IS "denormal", 0x4700, 0x4400
        fld1
        fxam
        SW_IS "normal", 0x4700, 0x0400
        fld tword [cs:qnan]
        fxam
        SW_IS "NaN", 0x4700, 0x0100
        fld1
        fldz
        fdivp st1, st0
        fchs
        fxam
        SW_IS "-inf", 0x4700, 0x0700
        END_GROUP
        ret

; ---------------------------------------------------------- FSCALE etc.

t_scale_extract:
        GROUP "fscale-fxtract"
        fninit
        fild word [cs:w3]
        fld1
        fld1
        fadd st0, st0
        fdivr st0, st1                  ; ST0 = ST1 / ST0 = 1/2
        faddp st1, st0                  ; 1.5
        fscale                          ; 1.5 * 2^3
        fstp tword [RES]
        CHECK80 "FSCALE 1.5, 3", 0x4002, 0xC000000000000000
        fninit
        fild word [cs:w3]
        fild word [cs:w8]
        fmulp st1, st0                  ; 24
        fxtract
        fstp tword [RES]
        CHECK80 "FXTRACT 24: significand", ONE_S, 0xC000000000000000
        fstp tword [RES]
        CHECK80 "FXTRACT 24: exponent", 0x4001, 0x8000000000000000
        END_GROUP
        ret

; ----------------------------------------------------- transcendentals

t_trig:
        GROUP "trig-exact"
        fninit
        fldz
        fptan
        fstp tword [RES]
        CHECK80 "FPTAN 0: 1.0 pushed", ONE_S, ONE_M
        fstp tword [RES]
        CHECK80 "FPTAN 0: tan", 0, 0
        fldz
        fsin
        fstp tword [RES]
        CHECK80 "FSIN 0", 0, 0
        fldz
        fcos
        fstp tword [RES]
        CHECK80 "FCOS 0", ONE_S, ONE_M
        fldpi
        fstp tword [RES]
        CHECK80 "FLDPI (RN)", 0x4000, 0xC90FDAA22168C235
        fldpi
        fld1
        fadd st0, st0
        fdivp st1, st0                  ; pi/2, exact halving
        fsin                            ; 1 - 2^-130 or so: 1.0
        fstp tword [RES]
        CHECK80 "FSIN pi/2", ONE_S, ONE_M
        END_GROUP
        ret

; ------------------------------------------------------------- compares

t_compare:
        GROUP "compare"
        fninit
        fld tword [cs:qnan]
        fld1
        fcom st1
        SW_IS "FCOM with a QNaN: unordered, IE", 0x4501, 0x4501
        fnclex
        fucom st1
        SW_IS "FUCOM with a QNaN: unordered, no IE", 0x4501, 0x4500
        fninit
        fld1
        fldz
        fcom st1                        ; 0 < 1
        SW_IS "FCOM 0, 1: C0", 0x4501, 0x0100
        fxch
        fcom st1                        ; 1 > 0
        SW_IS "FCOM 1, 0: none", 0x4501, 0
        IF_CLASS_AT_LEAST CLASS_686, .p6
        PRINT `note: no FCOMI before the P6\n`
        END_GROUP
        ret
.p6:    fninit
        fld tword [cs:qnan]
        fld1
        fucomi st0, st1
        pushf
        pop ax
        and ax, F_ZF | F_PF | F_CF
        CHECK16 "FUCOMI with a QNaN: ZF PF CF", ax, F_ZF | F_PF | F_CF
        fldz
        fcomi st0, st1                  ; 0 < 1
        pushf
        pop ax
        and ax, F_ZF | F_PF | F_CF
        CHECK16 "FCOMI 0, 1: CF", ax, F_CF
        END_GROUP
        ret

; ---------------------------------------------------------------- FSAVE

t_fsave:
        GROUP "fsave-frstor"
        fninit
        mov word [RES], 0x027F
        fldcw [RES]
        fld1
        fldz
        fsave [SAVE]                    ; 16-bit real-mode image
        CHECK16 "CW", [SAVE], 0x027F
        mov ax, [SAVE+2]
        and ax, 0x3800
        CHECK16 "SW: TOP = 6", ax, 6 << 11
        CHECK16 "TW: ST0 zero, ST1 valid, others empty", [SAVE+4], 0x1FFF
        CHECK16 "ST0 at offset 14", [SAVE+14+8], 0
        CHECK16 "ST1 at offset 24 (exponent)", [SAVE+24+8], ONE_S
        CHECK16 "ST1 significand high", [SAVE+24+6], 0x8000
        fnstcw [RES]
        CHECK16 "FSAVE reinitialises: CW", [RES], 0x037F
        fnstsw ax
        and ax, 0x3800
        CHECK16 "FSAVE reinitialises: TOP", ax, 0
        frstor [SAVE]
        fnstsw ax
        and ax, 0x3800
        CHECK16 "FRSTOR: TOP", ax, 6 << 11
        fstp tword [RES]
        fstp tword [RES]
        CHECK80 "FRSTOR: ST1 back", ONE_S, ONE_M
        END_GROUP
        ret

; -------------------------------------------------- unmasked exceptions

cw_zm_off:      dw 0x037B               ; ZE unmasked

t_mf:
        GROUP "mf-ne1"
        mov eax, cr0
        or eax, 0x20
        mov cr0, eax
        fninit
        fldcw [cs:cw_zm_off]
        fld1
        fldz
        ARM .r
        fdivp st1, st0                  ; pending: reported by the next wait
.w:     fwait
.r:     CHECK_EXC "#MF (INT 10h) at the waiting instruction", 0x10, .w
        SW_IS "ZE and ES set", 0x0084, 0x0084
        fninit
        END_GROUP
        ret

t_irq13:
        GROUP "irq13-ne0"
%ifdef NO_IRQ13
        PRINT `note: IRQ 13 not checked (NO_IRQ13)\n`
        END_GROUP
        ret
%endif
        test byte [cpu_feat+1], 0x02    ; a local APIC: let the 8259 through
        jz .noapic
        mov ecx, 0x1B
        rdmsr
        and ax, ~0x0800
        wrmsr
.noapic:
        mov eax, cr0
        and eax, ~0x20
        mov cr0, eax
        in al, PIC1_DATA
        and al, ~0x04                   ; cascade
        out PIC1_DATA, al
        in al, PIC2_DATA
        and al, ~0x20                   ; IRQ 13
        out PIC2_DATA, al
        fninit
        fldcw [cs:cw_zm_off]
        fld1
        fldz
        ARM .r
        sti
        fdivp st1, st0
        fwait
        nop
        nop
.r:     cli
        xor al, al
        out 0xF0, al                    ; clear the FPU's error latch
        mov al, 0x20
        out PIC2_CMD, al
        out PIC1_CMD, al
        mov al, 0xFF
        out PIC2_DATA, al
        out PIC1_DATA, al
        fninit
        call disarm
        CHECK16 "one interrupt", [exc_count], 1
        CHECK8 "vector 75h (slave base 70h + 5)", [exc_vec], 0x75
        END_GROUP
        ret

        ROM_END
