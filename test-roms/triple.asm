; triple.asm - a triple fault resets the machine through the reset vector
; with RAM kept (286 and later).
;
; The ROM counts its boots in CMOS register 38h (B1h after the first) and
; leaves a marker in RAM.  On the first boot it loads an IDT limit of 0 and
; executes INT 3: the interrupt is beyond the limit (#GP), so is the #GP
; (#DF) and the #DF (shutdown).  The reset brings it back here; the second
; boot finds the count and the marker, restores CMOS 38h and passes.

%define ROM_NAME "triple"
%include "common.inc"
cpu 286

CMOS_INDEX      equ 0x70
CMOS_DATA       equ 0x71
CMOS_SCRATCH    equ 0x38
BOOT1           equ 0xB1            ; CMOS 38h after the first boot
MARK            equ 0x9000          ; 0:9000 "TRIP", 0:9004 old CMOS 38h
MARK_LO         equ 'TR'
MARK_HI         equ 'IP'

main:
        mov al, CMOS_SCRATCH
        out CMOS_INDEX, al
        in al, CMOS_DATA
        cmp al, BOOT1
        je second_boot
        ; first boot (or a stale count: start over)
        mov [MARK + 4], al
        mov word [MARK], MARK_LO
        mov word [MARK + 2], MARK_HI
        mov al, CMOS_SCRATCH
        out CMOS_INDEX, al
        mov al, BOOT1
        out CMOS_DATA, al
        PRINT `note: first boot, triple-faulting\n`
        lidt [cs:null_idt]
        int3
        ; not reached: a shutdown resets the CPU
        GROUP "triple-fault"
        FAIL "INT 3 with an IDT limit of 0 returned"
        END_GROUP
        jmp finish

second_boot:
        GROUP "triple-fault"
        CHECK8 "boot count in CMOS 38h", al, BOOT1
        CHECK16 "RAM marker kept (low)", [MARK], MARK_LO
        CHECK16 "RAM marker kept (high)", [MARK + 2], MARK_HI
        mov al, CMOS_SCRATCH
        out CMOS_INDEX, al
        mov al, [MARK + 4]
        out CMOS_DATA, al
        mov word [MARK], 0
        END_GROUP
        jmp finish

null_idt:
        dw 0
        dd 0

        ROM_END
