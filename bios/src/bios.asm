; bios.asm - the Glassbox PC BIOS.
;
; A 64 KiB system ROM for F000:0000-FFFF (physical F0000-FFFFF).  The CPU
; leaves reset at F000:FFF0, which jumps to the power-on self test at
; F000:E05B.  POST sets up the standard PC/AT hardware through its standard
; ports (8259 PICs, 8254 PIT, 8042 keyboard controller, MC146818 CMOS/RTC,
; VGA, 82077AA floppy controller with the 8237 DMA, ATA disks), fills the
; interrupt vector table and the BIOS data area, and boots through INT 19h.
;
; It runs on every x86 from the 8086 up, in real mode only: 8086
; instructions throughout, 186/386 instructions only behind a check of the
; CPU class found at POST.  Progress goes to the debug console (port E9h).
;
; Layout: code and the large fonts from offset 0; from E05Bh the entry
; points and tables at the addresses the IBM PC/AT BIOS used (see FIXED).
;
; Assemble: nasm -f bin -o bios.rom bios.asm   (see test-roms/build.sh)

bits 16
cpu 8086
org 0

%include "equates.inc"

section .text

rom_start:
        db "Glassbox BIOS", 0
%include "util.inc"
%include "post.inc"
%include "video.inc"
%include "floppy.inc"
%include "ata.inc"
%include "disk.inc"
%include "keyboard.inc"
%include "services.inc"
%include "boot.inc"
%include "font.inc"
code_end:

; --------------------------------------------------- fixed entry points
        FIXED 0xE05B
post_entry:
        jmp post

        FIXED 0xE2C3
nmi_entry:
        jmp int02_nmi

        FIXED 0xE3FE
        jmp int13_entry

        FIXED 0xE6F2
        jmp int19_boot

        FIXED 0xE6F5
; System configuration table (INT 15h AH=C0h).
config_table:
        dw 8                        ; bytes that follow
        db 0xFC                     ; model: AT class
        db 0x01                     ; submodel
        db 0x00                     ; BIOS revision
        db 0x74                     ; 2nd 8259, RTC, INT 15h/4Fh called by INT 09h, EBDA
        db 0x40                     ; INT 16h AH=09h supported
        db 0, 0, 0

        FIXED 0xE729
; Divisors of the 1.8432 MHz UART clock for INT 14h AH=00h, 110..9600 baud.
baud_table:
        dw 0x0417, 0x0300, 0x0180, 0x00C0, 0x0060, 0x0030, 0x0018, 0x000C

        FIXED 0xE739
        jmp int14_serial

        FIXED 0xE82E
        jmp int16_keyboard

        FIXED 0xE987
        jmp int09_keyboard

        FIXED 0xEC59
        jmp int13_entry

        FIXED 0xEF57
        jmp int0e_floppy

        FIXED 0xEFC7
; Diskette parameter table (INT 1Eh) for 1.44 MB media.
diskette_params:
        db 0xAF                     ; step rate 6 ms (500 kb/s), head unload 240 ms
        db 0x02                     ; head load 4 ms, DMA mode
        db 0x25                     ; motor off delay in ticks
        db 0x02                     ; 512 bytes per sector
        db 18                       ; sectors per track
        db 0x1B                     ; gap length (read/write)
        db 0xFF                     ; data length
        db 0x6C                     ; gap length (format)
        db 0xF6                     ; fill byte (format)
        db 0x0F                     ; head settle time in ms
        db 0x08                     ; motor start time in 1/8 s

        FIXED 0xEFD2
        jmp int17_printer

        FIXED 0xF045
        ; (IBM: INT 10h function table)

        FIXED 0xF065
        jmp int10_video

        FIXED 0xF0A4
; Video parameter table (INT 1Dh): 6845 register sets for the MDA/CGA
; modes, kept for software that reads it; the VGA itself is programmed from
; the tables in video.inc.
video_param_6845:
        db 0x38, 0x28, 0x2D, 0x0A, 0x1F, 0x06, 0x19, 0x1C, 0x02, 0x07, 0x06, 0x07, 0, 0, 0, 0
        db 0x71, 0x50, 0x5A, 0x0A, 0x1F, 0x06, 0x19, 0x1C, 0x02, 0x07, 0x06, 0x07, 0, 0, 0, 0
        db 0x38, 0x28, 0x2D, 0x0A, 0x7F, 0x06, 0x64, 0x70, 0x02, 0x01, 0x06, 0x07, 0, 0, 0, 0
        db 0x61, 0x50, 0x52, 0x0F, 0x19, 0x06, 0x19, 0x19, 0x02, 0x0D, 0x0B, 0x0C, 0, 0, 0, 0
        dw 0x0800, 0x1000, 0x4000, 0x4000       ; regen lengths
        db 40, 40, 80, 80, 40, 40, 80, 80       ; columns per mode 0-7
        db 0x2C, 0x28, 0x2D, 0x29, 0x2A, 0x2E, 0x1E, 0x29  ; CGA mode control values

        FIXED 0xF841
        jmp int12_memsize

        FIXED 0xF84D
        jmp int11_equipment

        FIXED 0xF859
        jmp int15_system

        FIXED 0xFA6E
; 8x8 font, characters 00h-7Fh (INT 43h in CGA graphics modes; 80h-FFh are
; at INT 1Fh, font8x8_high).
font8x8_low:
%include "font8x8lo.inc"

        FIXED 0xFE6E
        jmp int1a_time

        FIXED 0xFEA5
        jmp int08_timer

        FIXED 0xFF23
; Default handler for hardware interrupts without a driver.
        jmp irq_default_master

        FIXED 0xFF53
dummy_iret:
        iret

        FIXED 0xFF54
int05_print_screen:
        iret

        FIXED 0xFFF0
reset_vector:
        jmp ROM_SEG:post_entry
        db "06/01/25"               ; BIOS date at F000:FFF5
        db 0                        ; (unused)
        db 0xFC                     ; model byte: AT
        db 0x00                     ; checksum byte (not used)
