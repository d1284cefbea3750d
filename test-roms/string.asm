; string.asm - MOVS, CMPS, SCAS, LODS, STOS (byte and word) with DF=0/1,
; REP/REPE/REPNE including CX=0 and early termination, segment overrides on
; the source, SI/DI wrap-around at 0FFFFh, and REP instructions interrupted
; by the timer interrupt (PIT channel 0 -> 8259 -> INT 08h) that must resume
; and give the same result.  8086-compatible; runs on every CPU model.
;
; Buffers: SRC = 2000:0000 (64 KiB filled with PAT(offset)), DST = 3000:0000.
; The checking code uses plain MOV loops, never string instructions.

%define ROM_NAME "string"
%include "common.inc"

SRC_SEG         equ 0x2000
DST_SEG         equ 0x3000
PIT_COUNT       equ 0x0200              ; ~430 us between timer interrupts
IRQ_ATTEMPTS    equ 60

; the byte at offset i of SRC
%define PAT(i) (((i) & 0xFF) ^ ((((i) >> 8) * 0x1D) & 0xFF) ^ 0x5A)

absolute ROM_VARS
irq_total:      resw 1                  ; timer interrupts taken
irq_mid:        resw 1                  ; ... that interrupted the string op
irq_target:     resw 1                  ; IP of the REP instruction under test
irq_cx0:        resw 1                  ; its initial CX
attempts:       resw 1
insn_flags:     resw 1                  ; FLAGS right after it
scratch:        resb 16
section .text

main:
        mov ax, SRC_SEG
        mov es, ax
        call fill_pattern
        call t_movs
        call t_movs_df1
        call t_cx0
        call t_stos
        call t_lods
        call t_cmps
        call t_scas
        call t_override
        call t_wrap
        call t_rep_irq
        jmp finish

; ------------------------------------------------------------------ helpers

; fill_pattern: ES:0000-FFFF = PAT(offset).
fill_pattern:
        xor di, di
        xor bx, bx
.l:     mov ax, di
        xor al, bl
        xor al, 0x5A
        mov [es:di], al
        inc di
        jz .e
        test di, 0x00FF
        jnz .l
        add bl, 0x1D
        jmp .l
.e:     ret

; fill_dst: DST:0000-0FFF = AL.
fill_dst:
        push es
        push di
        mov di, DST_SEG
        mov es, di
        xor di, di
.l:     mov [es:di], al
        inc di
        cmp di, 0x1000
        jb .l
        pop di
        pop es
        ret

; compare: CX bytes at DS:SI and ES:DI (MOV loop).  Returns ZF=1 when
; equal; otherwise SI/DI point at the first difference.
compare:
        jcxz .eq
.l:     mov al, [si]
        cmp al, [es:di]
        jne .ne
        inc si
        inc di
        loop .l
.eq:    xor al, al                      ; ZF=1
        ret
.ne:    or al, 1                        ; ZF=0
        ret

; set_segs: DS = SRC, ES = DST.
set_segs:
        mov ax, SRC_SEG
        mov ds, ax
        mov ax, DST_SEG
        mov es, ax
        ret

; zero_segs: DS = ES = 0 (for the check macros' memory operands).
zero_segs:
        xor ax, ax
        mov ds, ax
        mov es, ax
        ret

; CHECK_COPY "what", src_off, dst_off, count - DST[dst..] == SRC[src..].
%macro CHECK_COPY 4
        push si
        push di
        push cx
        call set_segs
        mov si, %2
        mov di, %3
        mov cx, %4
        call compare
        je %%ok
        call zero_segs
        call fail_begin
        PRINT {%1, " at destination offset "}
        mov ax, di
        call puthex16
        call newline
%%ok:   call zero_segs
        pop cx
        pop di
        pop si
%endmacro

; CHECK_DST8 "what", offset, value - one byte of DST.
%macro CHECK_DST8 3
        push ax
        push es
        mov ax, DST_SEG
        mov es, ax
        mov al, [es:%2]
        pop es
        CHECK8 %1, al, %3
        pop ax
%endmacro

; ------------------------------------------------------------------- tests

t_movs:
        GROUP "movsb-rep-df0"
        mov al, 0xCC
        call fill_dst
        call set_segs
        cld
        mov si, 0x0010
        mov di, 0x0100
        mov cx, 37
        rep movsb
        call zero_segs
        CHECK16 "SI", si, 0x0035
        CHECK16 "DI", di, 0x0125
        CHECK16 "CX", cx, 0
        CHECK_COPY "copied bytes differ", 0x0010, 0x0100, 37
        CHECK_DST8 "byte after the copy", 0x0125, 0xCC
        CHECK_DST8 "byte before the copy", 0x00FF, 0xCC
        END_GROUP

        GROUP "movsw-rep-df0"
        call set_segs
        mov si, 0x0401
        mov di, 0x0200
        mov cx, 9
        rep movsw
        call zero_segs
        CHECK16 "SI", si, 0x0413
        CHECK16 "DI", di, 0x0212
        CHECK_COPY "copied words differ", 0x0401, 0x0200, 18
        CHECK_DST8 "byte after the copy", 0x0212, 0xCC
        END_GROUP

        GROUP "movs-single"
        call set_segs
        mov si, 0x0050
        mov di, 0x0700
        mov cx, 0x1234
        movsb
        movsw
        call zero_segs
        CHECK16 "SI after movsb+movsw", si, 0x0053
        CHECK16 "DI after movsb+movsw", di, 0x0703
        CHECK16 "CX untouched without REP", cx, 0x1234
        CHECK_COPY "copied bytes differ", 0x0050, 0x0700, 3
        END_GROUP
        ret

t_movs_df1:
        GROUP "movs-df1"
        mov al, 0xCC
        call fill_dst
        call set_segs
        std
        mov si, 0x0200
        mov di, 0x0300
        mov cx, 20
        rep movsw                       ; words at 200, 1FE, ... 1DA
        mov bx, si
        mov dx, di
        mov si, 0x0100
        mov di, 0x0800
        movsb
        movsb
        pushf
        cld
        call zero_segs
        CHECK16 "SI after rep movsw", bx, 0x01D8
        CHECK16 "DI after rep movsw", dx, 0x02D8
        CHECK16 "SI after 2 x movsb", si, 0x00FE
        CHECK16 "DI after 2 x movsb", di, 0x07FE
        popf
        CHECK_FLAGS "DF still set", F_DF, F_DF
        cld
        CHECK_COPY "copied words differ", 0x01DA, 0x02DA, 40
        CHECK_COPY "copied bytes differ", 0x00FF, 0x07FF, 2
        CHECK_DST8 "byte below the copy", 0x02D9, 0xCC
        CHECK_DST8 "byte above the copy", 0x0302, 0xCC
        END_GROUP
        ret

t_cx0:
        GROUP "rep-cx0"
        mov al, 0xCC
        call fill_dst
        call set_segs
        mov si, 0x0010
        mov di, 0x0020
        xor cx, cx
        mov ax, 0x08C3                  ; OF SF ZF PF CF set, AF clear
        push ax
        popf
        rep movsb
        repe cmpsb
        repne cmpsw
        repe scasb
        repne scasw
        rep stosb
        rep lodsw
        pushf
        pop bx
        call zero_segs
        and bx, F_ARITH
        CHECK16 "FLAGS after REP x with CX=0", bx, F_OF | F_SF | F_ZF | F_CF
        CHECK16 "SI", si, 0x0010
        CHECK16 "DI", di, 0x0020
        CHECK16 "CX", cx, 0
        CHECK_DST8 "destination untouched", 0x0020, 0xCC
        END_GROUP
        ret

t_stos:
        GROUP "stos"
        mov al, 0
        call fill_dst
        mov ax, DST_SEG
        mov es, ax
        cld
        mov di, 0x0400
        mov cx, 10
        mov ax, 0x125A
        rep stosb
        mov bx, di
        std
        mov di, 0x0500
        mov cx, 4
        mov ax, 0xBEEF
        rep stosw                       ; words at 500, 4FE, 4FC, 4FA
        cld
        mov si, ax
        call zero_segs
        CHECK16 "DI after rep stosb", bx, 0x040A
        CHECK16 "DI after rep stosw DF=1", di, 0x04F8
        CHECK16 "CX", cx, 0
        CHECK16 "AX unchanged", si, 0xBEEF
        CHECK_DST8 "stosb first", 0x0400, 0x5A
        CHECK_DST8 "stosb last", 0x0409, 0x5A
        CHECK_DST8 "stosb after", 0x040A, 0x00
        CHECK_DST8 "stosw low byte at 4FA", 0x04FA, 0xEF
        CHECK_DST8 "stosw high byte at 501", 0x0501, 0xBE
        CHECK_DST8 "stosw below", 0x04F9, 0x00
        CHECK_DST8 "stosw above", 0x0502, 0x00
        END_GROUP
        ret

t_lods:
        GROUP "lods"
        call set_segs
        cld
        mov si, 0x0010
        lodsb
        mov bl, al
        mov bh, 0
        mov dx, si
        std
        mov si, 0x0120
        lodsw
        mov bp, si
        push ax
        cld
        mov si, 0x0030
        mov cx, 5
        rep lodsb
        mov di, si
        mov [ss:scratch], al
        call zero_segs
        CHECK16 "lodsb AL", bx, PAT(0x10)
        CHECK16 "SI after lodsb", dx, 0x0011
        CHECK16 "SI after lodsw DF=1", bp, 0x011E
        CHECK16 "CX after rep lodsb", cx, 0
        CHECK8 "rep lodsb AL = last byte", [scratch], PAT(0x34)
        CHECK16 "SI after rep lodsb", di, 0x0035
        pop ax
        CHECK16 "lodsw DF=1 AX", ax, PAT(0x120) | (PAT(0x121) << 8)
        END_GROUP
        ret

; Make DST[0..FF] a copy of SRC[0..FF] (MOV loop).
copy_src_to_dst:
        call set_segs
        xor si, si
.l:     mov al, [si]
        mov [es:si], al
        inc si
        cmp si, 0x0100
        jb .l
        ret

t_cmps:
        GROUP "cmps"
        call copy_src_to_dst
        cld
        mov si, 0x0010
        mov di, 0x0010
        mov cx, 16
        repe cmpsb                      ; all equal
        pushf
        pop bx
        call zero_segs
        and bx, F_ZF
        CHECK16 "REPE equal: ZF", bx, F_ZF
        CHECK16 "REPE equal: CX", cx, 0
        CHECK16 "REPE equal: DI", di, 0x0020

        call set_segs                   ; a difference at 18: 10 vs 20
        mov byte [0x0018], 0x10
        mov byte [es:0x0018], 0x20
        mov si, 0x0010
        mov di, 0x0010
        mov cx, 16
        repe cmpsb
        pushf
        pop bx
        call zero_segs
        and bx, F_ARITH
        CHECK16 "REPE stop: CX", cx, 7
        CHECK16 "REPE stop: SI", si, 0x0019
        CHECK16 "REPE stop: DI", di, 0x0019
        CHECK16 "REPE stop: FLAGS of 10h-20h", bx, F_SF | F_PF | F_CF

        call set_segs                   ; all differ except offset 47
        mov si, 0x0040
.d:     mov al, [si]
        not al
        mov [es:si], al
        inc si
        cmp si, 0x0050
        jb .d
        mov al, [0x0047]
        mov [es:0x0047], al
        mov si, 0x0040
        mov di, 0x0040
        mov cx, 16
        repne cmpsb
        pushf
        pop bx
        call zero_segs
        and bx, F_ZF
        CHECK16 "REPNE stop: ZF", bx, F_ZF
        CHECK16 "REPNE stop: CX", cx, 8
        CHECK16 "REPNE stop: SI", si, 0x0048

        call set_segs                   ; word compare 8000h - 0001h: OF
        mov word [0x0080], 0x8000
        mov word [es:0x0090], 0x0001
        std
        mov si, 0x0080
        mov di, 0x0090
        cmpsw
        pushf
        pop bx
        cld
        call zero_segs
        and bx, F_ARITH
        CHECK16 "cmpsw 8000h-0001h FLAGS", bx, F_OF | F_AF | F_PF
        CHECK16 "cmpsw DF=1: SI", si, 0x007E
        CHECK16 "cmpsw DF=1: DI", di, 0x008E
        END_GROUP
        ret

t_scas:
        GROUP "scas"
        mov al, 0
        call fill_dst
        mov ax, DST_SEG
        mov es, ax
        mov byte [es:0x0105], 0x42
        mov word [es:0x0200], 0x1234
        mov word [es:0x0202], 0x1234
        mov word [es:0x0204], 0x1234
        mov word [es:0x0206], 0x1235
        mov byte [es:0x0300], 0x01
        cld
        mov di, 0x0100
        mov cx, 16
        mov al, 0x42
        repne scasb                     ; found at 105
        pushf
        pop bx
        mov dx, di
        mov si, cx
        mov di, 0x0100
        mov cx, 4
        mov al, 0x99
        repne scasb                     ; not found
        pushf
        pop bp
        push cx
        push di
        call zero_segs
        pop di
        pop cx
        and bx, F_ZF
        and bp, F_ZF
        CHECK16 "REPNE found: ZF", bx, F_ZF
        CHECK16 "REPNE found: DI", dx, 0x0106
        CHECK16 "REPNE found: CX", si, 10
        CHECK16 "REPNE not found: ZF", bp, 0
        CHECK16 "REPNE not found: CX", cx, 0
        CHECK16 "REPNE not found: DI", di, 0x0104

        mov ax, DST_SEG
        mov es, ax
        mov di, 0x0200
        mov cx, 8
        mov ax, 0x1234
        repe scasw                      ; stops at the 4th word
        pushf
        pop bx
        mov dx, di
        mov si, cx
        mov di, 0x0300
        mov al, 0x80
        scasb                           ; 80h - 01h = 7Fh: OF, AF
        pushf
        pop bp
        call zero_segs
        and bx, F_ZF
        and bp, F_ARITH
        CHECK16 "REPE scasw stop: ZF", bx, 0
        CHECK16 "REPE scasw stop: DI", dx, 0x0208
        CHECK16 "REPE scasw stop: CX", si, 4
        CHECK16 "scasb 80h-01h FLAGS", bp, F_OF | F_AF
        CHECK16 "scasb DI", di, 0x0301
        END_GROUP
        ret

rom_bytes: db 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88

t_override:
        GROUP "segment-override"
        mov al, 0
        call fill_dst
        call set_segs
        cld
        mov si, rom_bytes
        cs lodsw                        ; source CS:SI
        mov bx, ax
        mov si, rom_bytes+2
        mov di, 0x0010
        mov cx, 6
        cs rep movsb                    ; CS:SI -> ES:DI
        mov dx, si
        xor ax, ax                      ; source SS:SI (SS = 0)
        mov [ss:0x2000], ax
        mov word [ss:0x2000], 0xA1B2
        mov si, 0x2000
        mov di, 0x0020
        ss movsw
        mov si, 0x0400                  ; source ES:SI, DS ignored
        mov word [es:0x0400], 0x0F0E
        es lodsw
        mov cx, ax
        mov si, rom_bytes               ; CS:SI vs ES:DI
        mov di, 0x0010
        mov byte [es:0x0010], 0x33
        cs cmpsb
        pushf
        pop bp
        call zero_segs
        CHECK16 "cs lodsw", bx, 0x2211
        CHECK16 "SI after cs rep movsb", dx, rom_bytes+8
        CHECK_DST8 "cs rep movsb first", 0x0010, 0x33
        CHECK_DST8 "cs rep movsb last", 0x0015, 0x88
        CHECK_DST8 "ss movsw low", 0x0020, 0xB2
        CHECK_DST8 "ss movsw high", 0x0021, 0xA1
        CHECK16 "es lodsw", cx, 0x0F0E
        and bp, F_ARITH
        CHECK16 "cs cmpsb 11h-33h FLAGS", bp, F_SF | F_AF | F_PF | F_CF
        END_GROUP
        ret

t_wrap:
        GROUP "si-di-wrap"
        mov al, 0
        call fill_dst
        mov ax, 0x4000                  ; 3000:FFFF+1 must not reach 4000:0000
        mov es, ax
        mov byte [es:0x0000], 0x11
        call set_segs
        mov byte [es:0xFFFF], 0
        cld
        mov si, 0xFFFE
        mov di, 0x0600
        mov cx, 4
        rep movsb                       ; SRC FFFE FFFF 0000 0001
        mov [ss:scratch], si
        mov di, 0xFFFF
        mov cx, 3
        mov al, 0x77
        rep stosb                       ; DST FFFF 0000 0001
        mov [ss:scratch+2], di
        mov al, [es:0xFFFF]
        mov ah, [es:0x0000]
        mov [ss:scratch+4], ax
        mov al, [es:0x0001]
        mov [ss:scratch+6], al
        std
        mov si, 0x0000
        lodsb
        mov ah, al
        lodsb                           ; from FFFF
        mov [ss:scratch+8], ax
        mov [ss:scratch+10], si
        cld
        mov si, 0xFFFE
        mov di, 0xFFFE
        mov cx, 2
        rep movsw                       ; words at FFFE and 0000
        mov bx, si
        mov ax, 0x4000
        mov es, ax
        mov dl, [es:0x0000]
        call zero_segs
        CHECK8 "4000:0000 untouched by DI wrap", dl, 0x11
        CHECK16 "SI after movsb across FFFF", [scratch], 0x0002
        CHECK16 "DI after stosb across FFFF", [scratch+2], 0x0002
        CHECK16 "stosb bytes at FFFF and 0000", [scratch+4], 0x7777
        CHECK8 "stosb byte at 0001", [scratch+6], 0x77
        CHECK16 "lodsb DF=1 at 0000 then FFFF", [scratch+8], (PAT(0) << 8) | PAT(0xFFFF)
        CHECK16 "SI after lodsb DF=1 from 0000", [scratch+10], 0xFFFE
        CHECK16 "SI after movsw across FFFF", bx, 0x0002
        CHECK16 "DI after movsw across FFFF", di, 0x0002
        CHECK_DST8 "movsb byte from FFFE", 0x0600, PAT(0xFFFE)
        CHECK_DST8 "movsb byte from FFFF", 0x0601, PAT(0xFFFF)
        CHECK_DST8 "movsb byte from 0000", 0x0602, PAT(0x0000)
        CHECK_DST8 "movsb byte from 0001", 0x0603, PAT(0x0001)
        CHECK_DST8 "movsw byte to FFFE", 0xFFFE, PAT(0xFFFE)
        CHECK_DST8 "movsw byte to FFFF", 0xFFFF, PAT(0xFFFF)
        CHECK_DST8 "movsw byte to 0000", 0x0000, PAT(0x0000)
        CHECK_DST8 "movsw byte to 0001", 0x0001, PAT(0x0001)
        CHECK_DST8 "stosb left 0002 alone", 0x0002, 0x00
        END_GROUP
        ret

; ---------------------------------------------------- REP with a timer IRQ

; INT 08h: count the tick; if it interrupted the REP instruction under test
; (return address = its first byte, CX already partly counted down), count
; that too.  Then EOI.
timer_isr:
        push bp
        mov bp, sp
        push ds
        push ax
        mov ds, [cs:zero_word]
        inc word [irq_total]
        mov ax, [bp+2]
        cmp ax, [irq_target]
        jne .o
        cmp cx, [irq_cx0]
        je .o
        jcxz .o
        inc word [irq_mid]
.o:     mov al, 0x20
        out PIC1_CMD, al
        pop ax
        pop ds
        pop bp
        iret

start_timer:
        cli
        mov word [IRQ0_VECTOR*4], timer_isr
        mov word [IRQ0_VECTOR*4+2], ROM_SEG
        mov al, 0x34                    ; channel 0, lo/hi, mode 2, binary
        out PIT_MODE, al
        mov al, PIT_COUNT & 0xFF
        out PIT_CH0, al
        mov al, PIT_COUNT >> 8
        out PIT_CH0, al
        mov al, 0xFE                    ; unmask IRQ0 only
        out PIC1_DATA, al
        ret

stop_timer:
        cli
        mov al, 0xFF
        out PIC1_DATA, al
        mov word [IRQ0_VECTOR*4], int_stubs + IRQ0_VECTOR*6
        ret

; REP_IRQ_CASE "what", setup, instruction, verify - repeat the instruction
; with the timer running until an interrupt lands in the middle of it (or
; IRQ_ATTEMPTS runs), then let `verify` check the final state of that run.
%macro REP_IRQ_CASE 4
        mov word [ss:irq_mid], 0
        mov word [ss:irq_target], %%insn
        mov word [ss:attempts], IRQ_ATTEMPTS
%%again:
        call zero_segs
        call %2
        mov [ss:irq_cx0], cx
        sti
        nop                             ; leave the STI shadow first
%%insn: %3
        pushf
        cli
        pop word [ss:insn_flags]
        cmp word [ss:irq_mid], 0
        jne %%hit
        dec word [ss:attempts]
        jnz %%again
        call zero_segs
        FAIL {%1, ": no timer interrupt arrived in the middle of the string instruction"}
        jmp %%done
%%hit:  call %4
%%done:
%endmacro

t_rep_irq:
        GROUP "rep-interrupted"
        call start_timer
        mov word [irq_total], 0
        REP_IRQ_CASE "rep movsw", irq_movsw_setup, {rep movsw}, irq_movsw_check
        REP_IRQ_CASE "repe cmpsw", irq_cmpsw_setup, {repe cmpsw}, irq_cmpsw_check
        REP_IRQ_CASE "rep movsb DF=1", irq_movsb_setup, {rep movsb}, irq_movsb_check
        REP_IRQ_CASE "rep stosw", irq_stosw_setup, {rep stosw}, irq_stosw_check
        call stop_timer
        call zero_segs
        mov ax, [irq_total]
        test ax, ax
        jnz .ok
        FAIL "no timer interrupt at all"
.ok:    END_GROUP
        ret

; 32 KiB of SRC (offset 0) to DST offset 0, DST cleared first.
irq_movsw_setup:
        mov ax, DST_SEG
        mov es, ax
        xor di, di
        xor ax, ax
.c:     mov [es:di], ax
        add di, 2
        jnz .c
        call set_segs
        cld
        xor si, si
        xor di, di
        mov cx, 0x4000
        ret

irq_movsw_check:
        push si
        push di
        push cx
        call zero_segs
        pop cx
        pop di
        pop si
        CHECK16 "rep movsw: CX", cx, 0
        CHECK16 "rep movsw: SI", si, 0x8000
        CHECK16 "rep movsw: DI", di, 0x8000
        CHECK_COPY "rep movsw: copy differs", 0, 0, 0x8000
        CHECK_DST8 "rep movsw: byte after", 0x8000, 0
        ret

; 30000 bytes backwards from SRC F000 to DST 9000, DST cleared first.
irq_movsb_setup:
        call set_segs
        xor ax, ax
        xor di, di
.c:     mov [es:di], ax
        add di, 2
        jnz .c
        std
        mov si, 0xF000
        mov di, 0x9000
        mov cx, 30000
        ret

irq_movsb_check:
        cld
        push si
        push di
        push cx
        call zero_segs
        pop cx
        pop di
        pop si
        CHECK16 "rep movsb DF=1: CX", cx, 0
        CHECK16 "rep movsb DF=1: SI", si, 0xF000 - 30000
        CHECK16 "rep movsb DF=1: DI", di, 0x9000 - 30000
        CHECK_COPY "rep movsb DF=1: copy differs", 0xF001 - 30000, 0x9001 - 30000, 30000
        ret

irq_stosw_setup:
        mov ax, DST_SEG
        mov es, ax
        cld
        xor di, di
        mov cx, 0x7000
        mov ax, 0xA55A
        ret

irq_stosw_check:
        push di
        push cx
        call zero_segs
        pop cx
        pop di
        CHECK16 "rep stosw: CX", cx, 0
        CHECK16 "rep stosw: DI", di, 0xE000
        mov ax, DST_SEG
        mov es, ax
        xor di, di
.l:     cmp word [es:di], 0xA55A
        jne .bad
        add di, 2
        cmp di, 0xE000
        jb .l
        cmp word [es:di], 0xA55A
        jne .ok
.bad:   call zero_segs
        CHECK16 "rep stosw: first wrong offset", di, 0xE000
.ok:    call zero_segs
        ret

; Compare SRC with the identical DST made by the movsw case (32 KiB).
irq_cmpsw_setup:
        call set_segs
        cld
        xor si, si
        xor di, di
        mov cx, 0x4000
        ret

irq_cmpsw_check:
        mov bx, [ss:insn_flags]
        push si
        push di
        push cx
        call zero_segs
        pop cx
        pop di
        pop si
        and bx, F_ZF
        CHECK16 "repe cmpsw: ZF", bx, F_ZF
        CHECK16 "repe cmpsw: CX", cx, 0
        CHECK16 "repe cmpsw: SI", si, 0x8000
        CHECK16 "repe cmpsw: DI", di, 0x8000
        ret

        ROM_END
