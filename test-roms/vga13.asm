; vga13.asm - VGA mode 13h (320x200, 256 colors, chain-4) programmed register
; by register, as a BIOS does, then a test pattern.
;
;   vga13-dac     the DAC's write and read index cycles: 256 entries written
;                 through 3C8h/3C9h read back through 3C7h/3C9h
;   vga13-chain4  bytes written at A000:xxxx read back unchanged (chain-4:
;                 one byte per pixel, linear)
;
; The picture left on the screen is pixel (x, y) = (x XOR y) & FFh with DAC
; entry i = (i >> 2, (i * 7) & 3Fh, 3Fh - (i >> 2)); tests/devices_boot.rs
; renders the adapter's frame and compares it with that picture computed on
; the host.

%define ROM_NAME "vga13"
%include "common.inc"

SEQ_INDEX       equ 0x3C4
CRTC_INDEX      equ 0x3D4
GC_INDEX        equ 0x3CE
AC_INDEX        equ 0x3C0
MISC_WRITE      equ 0x3C2
INPUT_STATUS1   equ 0x3DA
DAC_READ_INDEX  equ 0x3C7
DAC_WRITE_INDEX equ 0x3C8
DAC_DATA        equ 0x3C9

main:
        call set_mode13
        call t_dac
        call t_chain4
        call draw
        jmp finish

; set_mode13: misc output, sequencer, CRTC, graphics and attribute controllers.
set_mode13:
        mov dx, MISC_WRITE
        mov al, 0x63
        out dx, al
        mov dx, SEQ_INDEX
        mov si, seq_regs
        mov cx, 5
        xor bl, bl
        call write_indexed
        mov dx, CRTC_INDEX              ; unlock CRTC registers 0-7
        mov al, 0x11
        out dx, al
        inc dx
        in al, dx
        and al, 0x7F
        out dx, al
        dec dx
        mov si, crtc_regs
        mov cx, 25
        xor bl, bl
        call write_indexed
        mov dx, GC_INDEX
        mov si, gc_regs
        mov cx, 9
        xor bl, bl
        call write_indexed
        mov dx, INPUT_STATUS1           ; attribute flip-flop to "index"
        in al, dx
        mov dx, AC_INDEX
        mov si, ac_regs
        mov cx, 21
        xor bl, bl
.ac:    mov al, bl
        out dx, al
        mov al, [cs:si]
        out dx, al
        inc si
        inc bl
        loop .ac
        mov al, 0x20                    ; palette address source: video on
        out dx, al
        ret

; write_indexed: CX registers from CS:SI to the index/data pair at DX,
; starting at index BL.
write_indexed:
.next:  mov al, bl
        out dx, al
        inc dx
        mov al, [cs:si]
        out dx, al
        dec dx
        inc si
        inc bl
        loop .next
        ret

; dac_entry: AL = index -> AH = red, BL = green, BH = blue (6 bits each).
dac_entry:
        push cx
        mov ah, al
        mov cl, 2
        shr ah, cl                      ; red = i >> 2
        mov bl, al
        mov cl, 7
        push ax
        mov al, bl
        mul cl
        mov bl, al
        pop ax
        and bl, 0x3F                    ; green = (i * 7) & 3Fh
        mov bh, 0x3F
        sub bh, ah                      ; blue = 3Fh - (i >> 2)
        pop cx
        ret

t_dac:
        GROUP "vga13-dac"
        mov dx, DAC_WRITE_INDEX
        xor al, al
        out dx, al
        inc dx                          ; 3C9h
        xor cx, cx
.w:     mov al, cl
        call dac_entry
        mov al, ah
        out dx, al
        mov al, bl
        out dx, al
        mov al, bh
        out dx, al
        inc cl
        jnz .w
        mov dx, DAC_READ_INDEX
        xor al, al
        out dx, al
        mov dx, DAC_DATA
        xor cx, cx
.r:     mov al, cl
        call dac_entry
        in al, dx
        mov ch, al
        mov al, ah
        CHECK8 "DAC red read back", ch, al
        in al, dx
        CHECK8 "DAC green read back", al, bl
        in al, dx
        CHECK8 "DAC blue read back", al, bh
        xor ch, ch
        inc cl
        jnz .r
        END_GROUP
        ret

t_chain4:
        GROUP "vga13-chain4"
        mov ax, 0xA000
        mov es, ax
        mov byte [es:0], 0x12
        mov byte [es:1], 0x34
        mov byte [es:2], 0x56
        mov byte [es:3], 0x78
        mov byte [es:0xF9FF], 0x9A
        mov ax, [es:0]
        CHECK16 "A000:0000 word", ax, 0x3412
        mov ax, [es:2]
        CHECK16 "A000:0002 word", ax, 0x7856
        mov al, [es:0xF9FF]
        CHECK8 "A000:F9FF (last pixel)", al, 0x9A
        xor ax, ax
        mov es, ax
        END_GROUP
        ret

; draw: pixel (x, y) = x XOR y for the whole 320x200 screen.
draw:
        mov ax, 0xA000
        mov es, ax
        xor di, di
        xor dx, dx                      ; y
.row:   xor cx, cx                      ; x
.col:   mov al, cl
        xor al, dl
        stosb
        inc cx
        cmp cx, 320
        jb .col
        inc dx
        cmp dx, 200
        jb .row
        xor ax, ax
        mov es, ax
        ret

seq_regs:   db 0x03, 0x01, 0x0F, 0x00, 0x0E
crtc_regs:  db 0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F
            db 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
            db 0x9C, 0x0E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF
gc_regs:    db 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF
ac_regs:    db 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
            db 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F
            db 0x41, 0x00, 0x0F, 0x00, 0x00

        ROM_END
