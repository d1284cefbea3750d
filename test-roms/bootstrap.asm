; bootstrap.asm - the least firmware that starts a boot sector.
;
; From the reset vector it sets DS = ES = SS = 0, SP = 7C00h, DL = 80h (the
; boot drive number a BIOS passes) and jumps to 0000:7C00, where the boot
; sector must already be loaded (`--load boot.img@0x7c00`). No POST, no BIOS
; services: for stepping through a boot sector from its first instruction in
; the debugger, and for the debugger's and GDB stub's tests.

bits 16
cpu 8086
org 0

    times 0xFF00 db 0xFF

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov dl, 0x80
    jmp 0x0000:0x7C00

    times 0xFFF0 - ($ - $$) db 0xFF
reset:
    jmp 0xF000:start
    times 0x10000 - ($ - $$) db 0xFF
