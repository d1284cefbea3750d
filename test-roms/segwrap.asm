; segwrap.asm - segment:offset arithmetic at the edges, on every CPU model.
;
;   segment-ffff      FFFF:0000-000F is physical FFFF0 (the reset vector);
;                     with A20 off FFFF:0010 and up alias 0000:0000 and up;
;                     a word at FFFF:000F takes its high byte from 0000:0000
;   offset-wrap       effective addresses wrap at 64 KiB inside the segment:
;                     [BX+SI], [BX+disp16], [BX-disp8], [BP+DI] (SS), XLAT
;   word-at-ffff      a word access at offset FFFFh wraps inside the segment
;                     on the 8086/186 (and PUSH with SP=1 writes SS:FFFF and
;                     SS:0000); on the 286+ it raises an exception before
;                     any byte is touched: INT 13 (the 286 also for SS-based
;                     operands, per the SingleStepTests 80286 captures), on
;                     the 386+ INT 12 for SS-based operands (Intel SDM)
;   stack-wrap        PUSH/POP with SP crossing 0000h
;   ip-wrap           a near JMP/CALL whose target wraps past FFFFh
;
; A20 is switched off explicitly (port 92h) first; a20.asm checks the state
; at reset.  Build with -DNO_REAL_MODE_LIMITS for emulators that do not
; check real-mode segment limits (QEMU's TCG): the 286+ half of
; word-at-ffff is then skipped.

%define ROM_NAME "segwrap"
%include "common.inc"

SEG_A           equ 0x1000              ; test segment (physical 10000)

absolute ROM_VARS
saved_sp:       resw 1
section .text

main:
        call a20_disable
        call t_segment_ffff
        call t_offset_wrap
        call t_word_ffff
        call t_stack_wrap
        call t_ip_wrap
        jmp finish

t_segment_ffff:
        GROUP "segment-ffff"
        mov ax, 0xFFFF
        mov es, ax
        xor si, si                      ; FFFF:0-F == F000:FFF0-FFFF
.rv:    mov al, [es:si]
        cmp al, [cs:si-0x10]            ; EA wraps: FFF0+SI
        jne .rvbad
        inc si
        cmp si, 16
        jb .rv
        jmp .rvok
.rvbad: CHECK16 "FFFF:xxxx differs from F000:FFF0+xxxx at offset", si, 16
.rvok:  mov byte [0x1000], 0x11         ; FFFF:1010 aliases 0000:1000
        mov byte [es:0x1010], 0x22
        mov al, [0x1000]
        CHECK8 "0000:1000 after writing FFFF:1010", al, 0x22
        mov byte [0x1020], 0x33
        mov al, [es:0x1030]
        CHECK8 "FFFF:1030 after writing 0000:1020", al, 0x33
        mov ax, [es:0x000F]             ; bytes FFFFF (ROM) and 00000
        mov dl, [0x0000]
        mov dh, ROM_LAST_BYTE
        xchg dl, dh
        CHECK16 "word at FFFF:000F (FFFFF, then 00000)", ax, dx
        END_GROUP
        ret

t_offset_wrap:
        GROUP "offset-wrap"
        mov ax, SEG_A
        mov ds, ax
        mov es, ax
        mov byte [0x0001], 0
        mov byte [0x0010], 0
        mov byte [0x0002], 0x44
        mov byte [0xFFF5], 0x55
        mov bx, 0xFFFF
        mov si, 0x0002
        mov byte [bx+si], 0x5A          ; EA 0001
        mov bx, 0xFFF0
        mov byte [bx+0x20], 0x6B        ; EA 0010
        mov bx, 0x0005
        mov cl, [bx-0x10]               ; EA FFF5
        mov bx, 0xFFFF
        mov al, 3
        xlat                            ; DS:[FFFF+3] = DS:0002
        mov ch, al
        mov dl, [0x0001]
        mov dh, [0x0010]
        mov byte [ss:0x2000], 0x77      ; SS = 0, DS = 1000
        mov byte [0x2000], 0x88
        mov bp, 0xFFF0
        mov di, 0x2010
        mov ah, [bp+di]                 ; SS:2000
        mov bx, 0x2000                  ; 2000:0001 must be untouched
        mov es, bx
        mov bl, [es:0x0001]
        xor di, di
        mov ds, di
        mov es, di
        CHECK8 "[BX+SI] BX=FFFF SI=2 wrote offset 0001", dl, 0x5A
        CHECK8 "[BX+20h] BX=FFF0 wrote offset 0010", dh, 0x6B
        CHECK8 "[BX-10h] BX=5 read offset FFF5", cl, 0x55
        CHECK8 "XLAT BX=FFFF AL=3 read offset 0002", ch, 0x44
        CHECK8 "[BP+DI] wraps and uses SS", ah, 0x77
        CHECK8 "2000:0001 untouched", bl, 0
        END_GROUP
        ret

; ------------------------------------------------------- word at FFFFh

t_word_ffff:
        GROUP "word-at-ffff"
        mov ax, SEG_A
        mov ds, ax
        mov byte [0xFFFF], 0x34
        mov byte [0x0000], 0x12
        mov ax, 0x2000                  ; where a linear 32-bit sum would go
        mov es, ax
        mov byte [es:0x0000], 0x99
        IF_CLASS_AT_LEAST CLASS_286, .pm
        ; 8086/186: the word wraps inside the segment
        mov ax, [0xFFFF]
        mov word [0xFFFF], 0xABCD
        mov cl, [0xFFFF]
        mov ch, [0x0000]
        mov dl, [es:0x0000]
        mov bp, 0xFFFF                  ; SS-based: SS:FFFF and SS:0000
        mov bx, [bp]
        xor si, si
        mov ds, si
        mov si, ax
        mov al, [0xFFFF]
        mov ah, [0x0000]
        mov di, ax
        CHECK16 "8086: read word at DS:FFFF", si, 0x1234
        CHECK16 "8086: wrote word at DS:FFFF", cx, 0xABCD
        CHECK8 "8086: 2000:0000 untouched", dl, 0x99
        CHECK16 "8086: read word at SS:FFFF (BP)", bx, di
        call push_sp1
        jmp .e

.pm:    ; 286+: exception before anything is read or written
%ifdef NO_REAL_MODE_LIMITS
        call zero_ds
        PRINT `note: word-at-ffff: 286+ limit checks skipped (NO_REAL_MODE_LIMITS build)\n`
        jmp .e
%endif
        mov ax, 0x5555
        ARM .r1
.f1:    mov ax, [0xFFFF]
.r1:    call zero_ds
        mov bx, .f1
        CHECK_EXC "read word at DS:FFFF", 13, bx
        CHECK16 "AX unchanged by the faulting read", ax, 0x5555
        mov ax, SEG_A
        mov ds, ax
        ARM .r2
.f2:    mov word [0xFFFF], 0xABCD
.r2:    mov cl, [0xFFFF]
        mov ch, [0x0000]
        mov dl, [es:0x0000]
        call zero_ds
        CHECK_EXC "write word at DS:FFFF", 13, .f2
        CHECK16 "memory unchanged by the faulting write", cx, 0x1234
        CHECK8 "2000:0000 untouched", dl, 0x99
        ARM .r3
        mov bp, 0xFFFF
.f3:    mov ax, [bp]
.r3:    mov al, 12                      ; 386+: stack fault
        IF_CLASS_AT_LEAST CLASS_386, .c3
        mov al, 13                      ; 286: general protection
.c3:    mov ah, 0
        mov bx, ax
        CHECK_EXC "read word at SS:FFFF (BP)", bl, .f3
        ARM .r4
        mov ax, SEG_A
        mov ds, ax
        mov ax, [0xFFFE]                ; last whole word: no fault
.r4:    call zero_ds
        CHECK_NOEXC "read word at DS:FFFE"
.e:     END_GROUP
        ret

zero_ds:
        push ax
        xor ax, ax
        mov ds, ax
        pop ax
        ret

; 8086/186: PUSH with SP=1 writes the word at SS:FFFF, wrapping to SS:0000.
push_sp1:
        mov [saved_sp], sp
        mov ax, SEG_A
        mov es, ax
        mov byte [es:0xFFFF], 0
        mov byte [es:0x0000], 0
        mov ss, ax
        mov sp, 1
        mov ax, 0xC3D4
        push ax
        mov bx, sp
        pop dx
        mov cx, sp
        xor ax, ax
        mov ss, ax
        mov sp, [saved_sp]
        mov al, [es:0xFFFF]
        mov ah, [es:0x0000]
        CHECK16 "8086: PUSH with SP=1: SP", bx, 0xFFFF
        CHECK16 "8086: PUSH with SP=1 wrote SS:FFFF and SS:0000", ax, 0xC3D4
        CHECK16 "8086: POP at SP=FFFF", dx, 0xC3D4
        CHECK16 "8086: SP after POP", cx, 0x0001
        ret

; ----------------------------------------------------------------- stack

t_stack_wrap:
        GROUP "stack-wrap"
        mov [saved_sp], sp
        mov ax, SEG_A
        mov es, ax
        mov ss, ax
        mov sp, 2
        mov ax, 0x1111
        push ax                         ; SS:0000, SP=0
        mov ax, 0x2222
        push ax                         ; SS:FFFE, SP=FFFE
        mov bx, sp
        pop cx
        pop dx
        mov di, sp
        xor ax, ax
        mov ss, ax
        mov sp, [saved_sp]
        mov si, [es:0x0000]
        mov bp, [es:0xFFFE]
        CHECK16 "SP after two pushes from 2", bx, 0xFFFE
        CHECK16 "word pushed at SP=0 (SS:FFFE)", bp, 0x2222
        CHECK16 "word pushed at SP=2 (SS:0000)", si, 0x1111
        CHECK16 "POP from SP=FFFE", cx, 0x2222
        CHECK16 "POP from SP=0000", dx, 0x1111
        CHECK16 "SP after the pops", di, 0x0002
        END_GROUP
        ret

; ---------------------------------------------------------- IP wrap-around

t_ip_wrap:
        GROUP "ip-wrap"
        xor bx, bx
        jmp near ip_wrap_stub           ; at F000:FF00
.back:  CHECK16 "return address pushed by CALL at FF00", bx, ip_wrap_stub + 3
        CHECK16 "code after the wrapping call ran", cx, 0x1234
        END_GROUP
        ret

ip_wrap_routine:                        ; reached by CALL from FF00
        push bp
        mov bp, sp
        mov bx, [bp+2]
        pop bp
        ret

        times 0xFF00-($-$$) db 0xFF
ip_wrap_stub:
        db 0xE8                         ; CALL rel16 whose target wraps past FFFF
        dw (ip_wrap_routine - (ip_wrap_stub + 3)) & 0xFFFF
        mov cx, 0x1234
        db 0xE9                         ; JMP rel16 back, wrapping again
        dw (t_ip_wrap.back - ($ + 2)) & 0xFFFF

        ROM_END
