; hello.asm - a small boot sector for learning the debugger on.
;
; Loaded at 0000:7C00 like any boot sector (by a BIOS, or by
; `glassbox run --load test-roms/boot/hello.img@0x7c00 --entry 0000:7C00`).
; It needs no BIOS services: text goes to the debug console (port 0xE9),
; and it installs its own handler for INT 61h. Each part gives the debugger
; something to show:
;
;   7C00  set up segments and a stack
;         install INT 61h            (`info ivt 61`)
;         AX = 1234h, store it at 0:0500   (`watch w 0x500 2`)
;         CALL print                 (`p` steps over it)
;         INT 61h with AH = 0Eh      (`intb 61 0e`)
;         OUT to port 0xE9           (`iob 0xe9`)
;         REP STOSB                  (`p` runs the whole REP)
;         XCHG BX, BX                (`magic on`)
;         LGDT, as a protected-mode loader would   (`info gdt`)
;         CLI; HLT                   (the run ends: nothing can wake the CPU)

bits 16
cpu 386
org 0x7C00

COUNTER     equ 0x0500          ; the word the watchpoint example watches
INT_COUNT   equ 0x0504          ; bumped by the INT 61h handler
FILL        equ 0x0600          ; REP STOSB fills 16 bytes here

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov word [0x61 * 4], int61
    mov word [0x61 * 4 + 2], 0
    mov ax, 0x1234
    mov [COUNTER], ax
    mov si, hello
    call print
    mov ah, 0x0E
    int 0x61
    mov cx, 16
    mov di, FILL
    mov al, 0xAA
    cld
    rep stosb
    xchg bx, bx
    mov word [COUNTER + 2], 0xBEEF
    mov si, bye
    call print
    lgdt [gdt_ptr]
    cli
    hlt
    jmp $ - 1

; print: writes the NUL-terminated string at DS:SI to the debug console.
print:
    lodsb
    test al, al
    jz .done
    out 0xE9, al
    jmp print
.done:
    ret

; INT 61h: counts its calls in INT_COUNT.
int61:
    inc word [INT_COUNT]
    iret

hello: db "Hello from the boot sector", 10, 0
bye:   db "Boot sector done", 10, 0

; A flat GDT: null, 4 GiB 32-bit code (selector 08h), 4 GiB data (10h).
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF
    dq 0x00CF92000000FFFF
gdt_ptr:
    dw gdt_ptr - gdt - 1
    dd gdt

    times 510 - ($ - $$) db 0
    dw 0xAA55
