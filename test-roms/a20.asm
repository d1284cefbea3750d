; a20.asm - the A20 gate (fast A20, port 92h bit 1).
;
;   a20-reset   at reset A20 is on (as on QEMU and Bochs): FFFF:1010
;               (physical 101000) is its own byte on the 286+; firmware
;               turns A20 off when it wants the 8086 wrap
;   a20-on      after setting port 92h bit 1: no alias, memory from 1 MiB
;               up is separate RAM, a word at FFFF:000F takes its high byte
;               from physical 100000, port 92h reads bit 1 set (286+)
;   a20-off     after clearing it again the alias is back, and what was
;               written above 1 MiB is still there when A20 is re-enabled
;
; On the 8086 and 186, which have 20 address lines, addresses always wrap
; at 1 MiB whatever port 92h says; that is what is checked there.

%define ROM_NAME "a20"
%include "common.inc"

PROBE           equ 0x1000              ; 0000:1000 vs FFFF:1010 (101000)

main:
        call t_reset
        call t_on
        call t_off
        call a20_disable
        jmp finish

; probe_alias: AL = 1 if physical 100000+PROBE aliases PROBE, else 0.
; Leaves 0000:PROBE = A1h and FFFF:PROBE+10h = 5Eh (or 5Eh in both).
probe_alias:
        push es
        mov ax, 0xFFFF
        mov es, ax
        mov byte [PROBE], 0xA1
        mov byte [es:PROBE+0x10], 0x5E
        mov al, [PROBE]
        cmp al, 0x5E
        mov al, 1
        je .e
        mov al, 0
.e:     pop es
        ret

%macro CHECK_PORT92 1   ; expected bit 1 (286+ only)
        IF_CLASS_BELOW CLASS_286, %%s
        in al, PORT_A20
        and al, 0x02
        CHECK8 "port 92h bit 1", al, %1
%%s:
%endmacro

t_reset:
        GROUP "a20-reset"
        ; A20 is enabled at power-on (as on QEMU and Bochs; the keyboard
        ; controller's gate is open). Port 92h still reads its own bit 1 clear,
        ; so only the behaviour is checked here.
        call probe_alias
        mov cl, 0
        IF_CLASS_AT_LEAST CLASS_286, .c0
        mov cl, 1                       ; 8086/186: 20 address lines
.c0:    CHECK8 "FFFF:1010 vs 0000:1000 at reset", al, cl
        END_GROUP
        ret

t_on:
        GROUP "a20-on"
        call a20_enable
        CHECK_PORT92 2
        call probe_alias
        mov cl, 0
        IF_CLASS_AT_LEAST CLASS_286, .c1
        mov cl, 1                       ; 8086/186: 20 address lines
.c1:    CHECK8 "FFFF:1010 aliases 0000:1000 with A20 on", al, cl
        mov ax, 0xFFFF                  ; the top of what real mode reaches
        mov es, ax
        mov byte [0xFFEF], 0x31         ; 0000:FFEF vs FFFF:FFFF (10FFEF)
        mov byte [es:0xFFFF], 0x42
        mov al, [0xFFEF]
        mov cl, 0x31
        IF_CLASS_AT_LEAST CLASS_286, .c2
        mov cl, 0x42
.c2:    CHECK8 "0000:FFEF after writing FFFF:FFFF", al, cl
        mov ah, [es:0x0010]             ; physical 100000
        mov bx, [es:0x000F]             ; bytes FFFFF (ROM), 100000
        mov al, ROM_LAST_BYTE
        CHECK16 "word at FFFF:000F (FFFFF, then 100000)", bx, ax
        xor ax, ax
        mov es, ax
        END_GROUP
        ret

t_off:
        GROUP "a20-off"
        call a20_enable
        mov ax, 0xFFFF
        mov es, ax
        mov byte [es:0x2010], 0x77      ; physical 102000, A20 on
        mov byte [0x2000], 0x66
        call a20_disable
        CHECK_PORT92 0
        call probe_alias
        CHECK8 "FFFF:1010 aliases 0000:1000 with A20 off again", al, 1
        mov al, [es:0x2010]             ; now physical 002000
        CHECK8 "FFFF:2010 reads 0000:2000 with A20 off", al, 0x66
        call a20_enable
        mov al, [es:0x2010]
        mov cl, 0x77
        IF_CLASS_AT_LEAST CLASS_286, .c
        mov cl, 0x66
.c:     CHECK8 "memory at 102000 kept while A20 was off", al, cl
        call a20_disable
        xor ax, ax
        mov es, ax
        END_GROUP
        ret

        ROM_END
