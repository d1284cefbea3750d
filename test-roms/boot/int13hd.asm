; hd-boot.asm - a master boot record that checks INT 13h on drive 80h.
;
; tests/pc.rs (and bios/tests/hd-boot.sh under QEMU) writes it to sector 0 of a 16 MiB disk image whose
; sector 1 starts with "LBA1" and sector 2 with "LBA2", boots it and reads
; the debug console.  It prints one line per check ("ok ..." or "FAIL ...")
; and "HD DONE" at the end, then halts.  Assemble: nasm -f bin.

bits 16
cpu 8086
org 0x7C00

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        mov [drive], dl
        mov si, s_boot
        call puts

        ; AH=41h: extensions present
        mov ah, 0x41
        mov bx, 0x55AA
        mov dl, [drive]
        int 0x13
        jc .noext
        cmp bx, 0xAA55
        jne .noext
        mov si, s_ext
        call ok
        jmp .params
.noext: mov si, s_ext
        call fail

.params:
        ; AH=08h: geometry
        mov ah, 0x08
        mov dl, [drive]
        int 0x13
        mov si, s_params
        jc .pf
        cmp dl, 1
        jb .pf
        call ok
        jmp .lba
.pf:    call fail

.lba:   ; AH=42h: sector 1 to 0000:8000
        mov si, dap
        mov ah, 0x42
        mov dl, [drive]
        int 0x13
        mov si, s_read42
        jc .lf
        cmp word [0x8000], 'LB'
        jne .lf
        cmp word [0x8002], 'A1'
        jne .lf
        call ok
        jmp .chs
.lf:    call fail

.chs:   ; AH=02h: cylinder 0, head 0, sector 3 (= LBA 2) to 0000:8200
        mov ax, 0x0201
        mov cx, 0x0003
        mov dh, 0
        mov dl, [drive]
        mov bx, 0x8200
        int 0x13
        mov si, s_read02
        jc .cf
        cmp word [0x8200], 'LB'
        jne .cf
        cmp word [0x8202], 'A2'
        jne .cf
        call ok
        jmp .write
.cf:    call fail

.write: ; AH=43h: write "LBA9" to sector 9, read it back with AH=02h (CHS 0/0/10)
        mov word [0x8200], 'LB'
        mov word [0x8202], 'A9'
        mov word [dap+4], 0x8200
        mov word [dap+8], 9
        mov si, dap
        mov ax, 0x4300
        mov dl, [drive]
        int 0x13
        jc .wf
        mov word [0x8400], 0
        mov ax, 0x0201
        mov cx, 0x000A
        mov dh, 0
        mov dl, [drive]
        mov bx, 0x8400
        int 0x13
        jc .wf
        cmp word [0x8402], 'A9'
        jne .wf
        mov si, s_write
        call ok
        jmp .size
.wf:    mov si, s_write
        call fail

.size:  ; AH=48h: 32768 sectors
        mov si, edd
        mov word [si], 0x1A
        mov ah, 0x48
        mov dl, [drive]
        int 0x13
        mov si, s_edd
        jc .sf
        cmp word [edd+16], 32768
        jne .sf
        call ok
        jmp .done
.sf:    call fail

.done:  mov si, s_done
        call puts
.halt:  hlt
        jmp .halt

ok:     push si
        mov si, s_ok
        call puts
        pop si
        call puts
        ret
fail:   push si
        mov si, s_fail
        call puts
        pop si
        call puts
        ret

puts:   lodsb
        test al, al
        jz .e
        out 0xE9, al
        jmp puts
.e:     ret

drive:  db 0
dap:    db 0x10, 0
        dw 1                    ; sectors
        dw 0x8000, 0x0000       ; buffer
        dq 1                    ; LBA
s_boot:   db "HD MBR", 10, 0
s_ok:     db "ok ", 0
s_fail:   db "FAIL ", 0
s_ext:    db "AH=41h extensions", 10, 0
s_params: db "AH=08h parameters", 10, 0
s_read42: db "AH=42h read LBA 1", 10, 0
s_read02: db "AH=02h read CHS 0/0/3", 10, 0
s_write:  db "AH=43h write+read", 10, 0
s_edd:    db "AH=48h 32768 sectors", 10, 0
s_done:   db "HD DONE", 10, 0

        times 510-($-$$) db 0
        dw 0xAA55
edd:                            ; (beyond the sector: scratch)
