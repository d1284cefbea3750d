; services-boot.asm - a floppy boot sector that checks BIOS services.
; It loads its other two sectors (INT 13h AH=02h) to 0000:7E00 first.
;
; bios/tests/services-boot.sh boots it under QEMU.  Each check prints
; "ok <name>" or "FAIL <name>" on the debug console (port E9h); then it
; prints "keys?" and expects the harness to press Up, F12, keypad Enter and
; Shift+A; "SVC DONE" ends the run.  386 code (E820h needs it).

bits 16
cpu 386
org 0x7C00

%macro CHECK 2                          ; CHECK condition-jump-if-ok, "name"
        j%1 %%ok
        mov si, %%n
        call fail
        jmp %%e
%%ok:   mov si, %%n
        call ok
        jmp %%e
%%n:    db %2, 10, 0
%%e:
%endmacro

start:  xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        mov ax, 0x0202                  ; sectors 2-3 to 0000:7E00
        mov cx, 0x0002
        mov dh, 0
        mov bx, 0x7E00
        int 0x13
        jnc main
        mov al, '!'
        out 0xE9, al
        hlt
        times 510-($-$$) db 0
        dw 0xAA55

main:   int 0x12
        cmp ax, 639
        CHECK e, "int12"
        int 0x11
        and ax, 0x31
        cmp ax, 0x21
        CHECK e, "int11"
        mov ah, 0x0F
        int 0x10
        cmp ax, 0x5003
        CHECK e, "int10/0F"
        mov ah, 0x08
        mov dl, 0
        int 0x13
        cmp cx, 0x4F12
        CHECK e, "int13/08"
        mov ah, 0x15
        mov dl, 0
        int 0x13
        cmp ah, 2
        CHECK e, "int13/15"
        mov ah, 0xC0
        int 0x15
        cmp byte [es:bx+2], 0xFC
        CHECK e, "int15/C0"
        mov ax, 0x2402
        int 0x15
        cmp al, 1
        CHECK e, "int15/2402"
        ; E820: entry 0 at 0 usable; one usable entry at 1 MiB
        push ds
        pop es                          ; (INT 15h C0h changed ES)
        xor ebx, ebx
        xor bp, bp                      ; usable at 1 MiB seen
        xor cx, cx
        mov di, 0x9000                  ; (past this program)
.e820:  push cx
        mov eax, 0xE820
        mov edx, 0x534D4150
        mov ecx, 20
        int 0x15
        pop cx
        jc .e820e
        inc cx
        cmp dword [di], 0x100000
        jne .nx
        cmp byte [di+16], 1
        jne .nx
        inc bp
.nx:    test ebx, ebx
        jnz .e820
.e820e: cmp cx, 5
        CHECK ae, "int15/E820 count"
        cmp bp, 1
        CHECK e, "int15/E820 1MiB"
        mov ah, 0x04
        int 0x1A
        cmp ch, 0x20
        CHECK e, "int1A/04"
        mov ah, 0
        int 0x1A
        mov bx, dx
        mov ah, 0x86                    ; 0.5 s
        mov cx, 0x0007
        mov dx, 0xA120
        int 0x15
        mov ah, 0
        int 0x1A
        sub dx, bx
        cmp dx, 6
        CHECK ae, "int15/86 waited"
        cmp dx, 14
        CHECK b, "int15/86 not too long"
        mov si, s_keys
        call puts
        mov ah, 0x10
        int 0x16
        cmp ax, 0x48E0
        CHECK e, "int16/10 Up"
        mov ah, 0x10
        int 0x16
        cmp ax, 0x8600
        CHECK e, "int16/10 F12"
        mov ah, 0x00
        int 0x16
        cmp ax, 0x1C0D
        CHECK e, "int16/00 keypad Enter"
        mov ah, 0x00
        int 0x16
        cmp ax, 0x1E41
        CHECK e, "int16/00 Shift+A"
        mov si, s_done
        call puts
.h:     hlt
        jmp .h

ok:     push si
        mov si, s_ok
        call puts
        pop si
        jmp puts
fail:   push si
        mov si, s_fail
        call puts
        pop si
puts:   lodsb
        test al, al
        jz .e
        out 0xE9, al
        jmp puts
.e:     ret

s_ok:   db "ok ", 0
s_fail: db "FAIL ", 0
s_keys: db "keys?", 10, 0
s_done: db "SVC DONE", 10, 0
        times 1536-($-$$) db 0
