; demo.asm - Glassbox's built-in demo ROM.
;
; A 64 KiB firmware image for F000:0000-FFFF (physical F0000-FFFFF).  The
; CPU leaves reset at F000:FFF0, where a far jump brings it to `start`.
; It prints a banner to the debug console (port E9h), draws the Mandelbrot
; set in ASCII with 16-bit fixed-point integer arithmetic, says how to run
; your own code, and ends the run cleanly (exit status 0) through the Bochs
; shutdown port 8900h, or on emulators without it through the exit device
; (port F4h, value 0).  8086 instructions only: it runs on every
; CPU model.  Assemble: nasm -f bin -o demo.rom demo.asm

bits 16
cpu 8086
org 0

PORT_DEBUG      equ 0xE9
PORT_EXIT       equ 0xF4
PORT_SHUTDOWN   equ 0x8900

; The picture: COLS x ROWS characters, x from -2.0 to 0.5, y from -1.125
; to 1.125, in Q10 fixed point (1.0 = 1024).
COLS            equ 72
ROWS            equ 24
ONE             equ 1024
X0              equ -2 * ONE
X_STEP          equ 36                  ; 2.5 / 72 * 1024, rounded
Y0              equ -1152 + 48          ; first row centre (-1.125 + half a step)
Y_STEP          equ 96                  ; 2.25 / 24 * 1024
MAX_ITER        equ 64

start:
        cli
        cld
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        push cs
        pop ds                          ; strings live in the ROM
        mov si, banner
        call puts
        call mandelbrot
        mov si, howto
        call puts
        mov dx, PORT_SHUTDOWN           ; ends the run with status 0
        mov si, shutdown
        call puts_dx
        mov al, 0
        out PORT_EXIT, al               ; emulators without the shutdown port
.halt:  cli
        hlt
        jmp .halt

; puts: print the NUL-terminated string at DS:SI to the debug console.
puts:   mov dx, PORT_DEBUG
puts_dx:
.l:     lodsb
        test al, al
        jz .e
        out dx, al
        jmp .l
.e:     ret

; mandelbrot: one character per point, ROWS lines of COLS characters.
; Registers: BP = y0 of the row, DI = x0 of the column.
mandelbrot:
        mov bp, Y0
        mov ch, ROWS
.row:   mov di, X0
        mov byte [ss:col_left], COLS
.col:   call escape_time                ; BL = iterations (MAX_ITER: inside)
        mov bh, 0
        mov al, [shades+bx]
        out PORT_DEBUG, al
        add di, X_STEP
        dec byte [ss:col_left]
        jnz .col
        mov al, 10
        out PORT_DEBUG, al
        add bp, Y_STEP
        dec ch
        jnz .row
        ret

col_left        equ 0x0500              ; a RAM byte (ROM is read-only)

; escape_time: iterate z = z^2 + c from z = 0 for c = (DI, BP) in Q10;
; BL = the iteration at which |z| exceeded 2, or MAX_ITER.
; |zx| and |zy| are kept <= 2.0 before squaring, so every product fits
; IMUL's 32-bit result and every sum fits 16 bits.
escape_time:
        push cx
        xor si, si                      ; zx
        xor dx, dx                      ; zy
        xor bl, bl
.it:    mov ax, si                      ; |zx| > 2 or |zy| > 2: escaped
        call abs_ax
        cmp ax, 2 * ONE
        jg .out
        mov ax, dx
        call abs_ax
        cmp ax, 2 * ONE
        jg .out
        push dx
        mov ax, si
        imul si
        call q10                        ; zx^2
        mov cx, ax
        pop ax
        push ax
        imul ax
        call q10                        ; zy^2
        pop dx
        push ax
        add ax, cx
        cmp ax, 4 * ONE                 ; |z|^2 > 4: escaped
        pop ax
        jg .out
        sub cx, ax                      ; zx^2 - zy^2
        mov ax, si
        imul dx                         ; zx * zy
        call q9                         ; 2 * zx * zy
        add ax, bp
        mov dx, ax                      ; zy' = 2 zx zy + y0
        add cx, di
        mov si, cx                      ; zx' = zx^2 - zy^2 + x0
        inc bl
        cmp bl, MAX_ITER
        jb .it
.out:   pop cx
        ret

abs_ax: test ax, ax
        jns .e
        neg ax
.e:     ret

; q10 / q9: AX = DX:AX >> 10 (or 9), the result known to fit 16 bits.
q10:    push cx
        mov cl, 10
        shr ax, cl
        mov cl, 6
        shl dx, cl
        or ax, dx
        pop cx
        ret

q9:     push cx
        mov cl, 9
        shr ax, cl
        mov cl, 7
        shl dx, cl
        or ax, dx
        pop cx
        ret

; shades[n]: the character for a point that escaped after n iterations.
shades:
%assign n 0
%rep MAX_ITER
%if n < 3
        db ' '
%elif n < 4
        db '.'
%elif n < 5
        db ':'
%elif n < 7
        db '-'
%elif n < 9
        db '='
%elif n < 13
        db '+'
%elif n < 20
        db '*'
%elif n < 32
        db '%'
%else
        db '#'
%endif
%assign n n+1
%endrep
        db '@'                          ; never escaped: inside the set

banner:
        db 10
        db "Glassbox built-in demo ROM", 10
        db "==========================", 10
        db "You are looking at Glassbox's own 64 KiB demo firmware. The CPU came out", 10
        db "of reset at F000:FFF0 (physical address FFFF0h), found a far jump there", 10
        db "into this ROM, and is now running it in real mode. Every character you", 10
        db "read was written, one OUT instruction at a time, to the debug console", 10
        db "on I/O port E9h.", 10
        db 10
        db "Here is the Mandelbrot set, computed with 16-bit fixed-point integers", 10
        db "(IMUL and shifts; no floating point) from x = -2.0 to 0.5:", 10
        db 10, 0

howto:
        db 10
        db "To run your own code instead:", 10
        db "  glassbox run --bios FILE", 10
        db "      FILE is a 64 KiB ROM image mapped at F0000h; execution starts at", 10
        db "      F000:FFF0, 16 bytes before its end.", 10
        db "  glassbox run --load FILE@ADDR --entry SEG:OFF", 10
        db "      loads a raw binary at physical address ADDR and starts at SEG:OFF.", 10
        db "Write text to port E9h; write a byte v to port F4h to stop with exit", 10
        db "status (v << 1) | 1, or the text Shutdown to port 8900h to stop with", 10
        db "status 0, which is what this ROM does now: goodbye!", 10, 0

shutdown:
        db "Shutdown", 0

        times 0xFFF0-($-$$) db 0xFF
reset_vector:
        jmp 0xF000:start
        db "GLASSBOX"                   ; F000:FFF5
        times 0x10000-($-$$) db 0
