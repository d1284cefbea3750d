; mbtest.asm - a multiboot (v1) test kernel: checks what the boot loader hands over.
;
; Two images from this source (test-roms/build.sh):
;   mbtest.elf        an ELF32 executable (header written here by hand), loaded at
;                     1 MiB from its one PT_LOAD segment, BSS zeroed by the loader;
;                     multiboot flags 0 and 1
;   mbtest-aout.bin   -DAOUT_KLUDGE: a flat image at 2 MiB with the a.out kludge
;                     (flag 16: the header gives the load and BSS addresses) and a
;                     request for 80x25 text mode (flag 2)
;
; Run (tests/boot.rs does this):
;   glassbox run --kernel test-roms/multiboot/mbtest.elf --initrd DIR/mbmod.bin \
;       --append "mbtest cmdline-ok" --memory 32M --debugcon stdio
; where mbmod.bin holds 5000 bytes, byte i being (i * 7 + 3) & 0FFh.
;
; Checks: EAX = 2BADB002h; 32-bit protected mode without paging, interrupts off, CS =
; 08h and DS = ES = SS = 10h with the loader's GDT describing flat segments; the BSS is
; zero; the info flags (memory, command line, modules, memory map, loader name, no
; video information); mem_lower = 639 KiB; the memory map (first entry: usable from 0,
; 639 KiB; usable memory from 1 MiB adding up to mem_upper); the command line; the
; module (page aligned, length, every byte, its string ending in "mbmod.bin"); the
; loader name "Glassbox". Prints `note: mem_lower=N mem_upper=N` for the test to
; compare with --memory.
;
; Protocol as the other test ROMs (test-roms/README.md): one `PASS name` or
; `FAIL name: got X, want Y` line per check on port E9h, then `ALL PASS` or
; `FAILED n`, and n written to the exit port F4h. No segment register is loaded and
; no interrupt is taken.

%ifdef AOUT_KLUDGE
LOAD_ADDR       equ 0x200000
MB_FLAGS        equ 0x00010007          ; page-align modules, memory info, video, a.out kludge
%else
LOAD_ADDR       equ 0x100000
MB_FLAGS        equ 0x00000003          ; page-align modules, memory info
%endif
MB_MAGIC        equ 0x1BADB002
MB_EAX          equ 0x2BADB002
MODULE_LEN      equ 5000

        bits 32
        org LOAD_ADDR

section .text
file_start:
%ifndef AOUT_KLUDGE
; ELF header (ELFCLASS32, little endian, ET_EXEC, EM_386) and one program header.
        db 0x7F, "ELF", 1, 1, 1, 0
        times 8 db 0
        dw 2                            ; e_type: executable
        dw 3                            ; e_machine: i386
        dd 1                            ; e_version
        dd start                        ; e_entry
        dd phdr - file_start            ; e_phoff
        dd 0                            ; e_shoff
        dd 0                            ; e_flags
        dw 52                           ; e_ehsize
        dw 32                           ; e_phentsize
        dw 1                            ; e_phnum
        dw 0, 0, 0                      ; no section headers
phdr:   dd 1                            ; PT_LOAD
        dd 0                            ; p_offset
        dd LOAD_ADDR                    ; p_vaddr
        dd LOAD_ADDR                    ; p_paddr
        dd file_end - file_start        ; p_filesz
        dd bss_end - file_start         ; p_memsz
        dd 7                            ; RWX
        dd 0x1000                       ; p_align
%endif

        align 4
mb_header:
        dd MB_MAGIC
        dd MB_FLAGS
        dd -(MB_MAGIC + MB_FLAGS)
%ifdef AOUT_KLUDGE
        dd mb_header                    ; header_addr
        dd file_start                   ; load_addr
        dd file_end                     ; load_end_addr
        dd bss_end                      ; bss_end_addr
        dd start                        ; entry_addr
        dd 1                            ; mode_type: EGA text
        dd 80                           ; width
        dd 25                           ; height
        dd 0                            ; depth
%endif

; CHECK name, got, want: one PASS/FAIL line.
%macro CHECK 3
        push esi
        mov eax, %2
        mov ecx, %3
        mov esi, %%name
        call check_eq
        pop esi
        jmp %%over
%%name: db %1, 0
%%over:
%endmacro

start:
        mov [boot_eax], eax
        mov [boot_ebx], ebx
        ; the BSS, before the stack in it is used
        mov edi, bss_start
        mov ecx, (bss_end - bss_start) / 4
        xor eax, eax
        repe scasd
        setne al
        mov [bss_dirty], eax
        mov esp, stack_top
        mov esi, banner
        call puts
        CHECK "multiboot magic in EAX", [boot_eax], MB_EAX
        CHECK "BSS zeroed", [bss_dirty], 0

        mov eax, cr0
        and eax, 0x80000001
        CHECK "CR0: protected mode, no paging", eax, 1
        pushfd
        pop eax
        and eax, 0x200
        CHECK "interrupts off", eax, 0
        xor eax, eax
        mov ax, cs
        CHECK "CS", eax, 0x08
        mov ax, ds
        CHECK "DS", eax, 0x10
        mov ax, es
        CHECK "ES", eax, 0x10
        mov ax, ss
        CHECK "SS", eax, 0x10
        sgdt [gdtr]
        movzx eax, word [gdtr]
        CHECK "GDT limit", eax, 23
        mov ebx, [gdtr + 2]
        CHECK "GDT code descriptor low", [ebx + 8], 0x0000FFFF
        CHECK "GDT code descriptor high", [ebx + 12], 0x00CF9B00
        CHECK "GDT data descriptor low", [ebx + 16], 0x0000FFFF
        CHECK "GDT data descriptor high", [ebx + 20], 0x00CF9300

        mov ebx, [boot_ebx]
        mov eax, [ebx]
        and eax, 0x0A4D                 ; memory, cmdline, mods, mmap, name, VBE
        CHECK "info flags", eax, 0x024D
        CHECK "mem_lower", [ebx + 4], 639
        mov esi, note_mem
        call puts
        mov eax, [ebx + 4]
        call putdec
        mov esi, note_upper
        call puts
        mov eax, [ebx + 8]
        call putdec
        mov esi, newline
        call puts

        ; memory map: the first entry is usable low memory; the usable entries from
        ; 1 MiB up add up to mem_upper
        mov esi, [ebx + 48]
        CHECK "mmap entry size", [esi], 20
        CHECK "mmap first base", [esi + 4], 0
        CHECK "mmap first length", [esi + 12], 639 * 1024
        CHECK "mmap first type", [esi + 20], 1
        mov ecx, [ebx + 44]
        add ecx, esi                    ; end of the map
        xor edx, edx                    ; usable bytes from 1 MiB
        xor edi, edi                    ; entries
.walk:  cmp esi, ecx
        jae .walked
        inc edi
        cmp dword [esi + 20], 1
        jne .next
        cmp dword [esi + 8], 0          ; base above 4 GiB: not counted
        jne .next
        cmp dword [esi + 4], 0x100000
        jb .next
        add edx, [esi + 12]
.next:  add esi, [esi]
        add esi, 4
        jmp .walk
.walked:
        cmp edi, 4
        setae al
        movzx eax, al
        CHECK "mmap has 4 or more entries", eax, 1
        shr edx, 10
        CHECK "mmap usable memory from 1 MiB = mem_upper", edx, [ebx + 8]

        mov esi, [ebx + 16]
        mov edi, want_cmdline
        call streq
        CHECK "command line", eax, 1

        mov esi, [ebx + 64]
        mov edi, want_name
        call streq
        CHECK "boot loader name", eax, 1

        CHECK "module count", [ebx + 20], 1
        mov esi, [ebx + 24]
        mov eax, [esi]
        and eax, 0xFFF
        CHECK "module page aligned", eax, 0
        mov eax, [esi + 4]
        sub eax, [esi]
        CHECK "module length", eax, MODULE_LEN
        ; every byte: (i * 7 + 3) & 0FFh
        mov edi, [esi]
        xor ecx, ecx
        mov dl, 3
        xor eax, eax
.byte:  cmp ecx, MODULE_LEN
        jae .bytes
        cmp [edi + ecx], dl
        jne .badbyte
        add dl, 7
        inc ecx
        jmp .byte
.badbyte:
        mov eax, ecx
        inc eax                         ; 1 + index of the first wrong byte
.bytes: CHECK "module bytes (first wrong index + 1)", eax, 0
        ; its string ends with "mbmod.bin"
        mov esi, [esi + 8]
        mov edi, esi
        xor al, al
        mov ecx, 4096
        repne scasb
        sub edi, want_modname_len + 1
        cmp edi, esi
        jb .short
        mov esi, edi
        mov edi, want_modname
        call streq
        jmp .named
.short: xor eax, eax
.named: CHECK "module string", eax, 1

        ; the end
        mov eax, [failures]
        test eax, eax
        jnz .failed
        mov esi, all_pass
        call puts
        jmp .exit
.failed:
        mov esi, failed
        call puts
        call putdec
        mov esi, newline
        call puts
.exit:  mov eax, [failures]
        cmp eax, 127
        jbe .out
        mov eax, 127
.out:   out 0xF4, al
        hlt
        jmp .out

; check_eq: ESI = name; EAX = got, ECX = want.
check_eq:
        cmp eax, ecx
        jne .fail
        push esi
        mov esi, pass_txt
        call puts
        pop esi
        call puts
        mov esi, newline
        jmp puts
.fail:  inc dword [failures]
        push esi
        mov esi, fail_txt
        call puts
        pop esi
        call puts
        mov esi, got_txt
        call puts
        call puthex
        mov esi, want_txt
        call puts
        mov eax, ecx
        call puthex
        mov esi, newline
        jmp puts

; puts: ESI = NUL-terminated text to port E9h.
puts:   push eax
        push edx
        push esi
        mov dx, 0xE9
.l:     lodsb
        test al, al
        jz .e
        out dx, al
        jmp .l
.e:     pop esi
        pop edx
        pop eax
        ret

; puthex: EAX as 0x and eight hex digits.
puthex: push eax
        push ecx
        push edx
        mov edx, eax
        mov al, '0'
        out 0xE9, al
        mov al, 'x'
        out 0xE9, al
        mov ecx, 8
.d:     rol edx, 4
        mov al, dl
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .o
        add al, 'A' - '9' - 1
.o:     out 0xE9, al
        loop .d
        pop edx
        pop ecx
        pop eax
        ret

; putdec: EAX unsigned, in decimal.
putdec: push eax
        push ecx
        push edx
        push ebx
        mov ebx, 10
        xor ecx, ecx
.div:   xor edx, edx
        div ebx
        push edx
        inc ecx
        test eax, eax
        jnz .div
.put:   pop eax
        add al, '0'
        out 0xE9, al
        loop .put
        pop ebx
        pop edx
        pop ecx
        pop eax
        ret

; streq: EAX = 1 when the strings at ESI and EDI are equal, else 0.
streq:  push esi
        push edi
        push edx
.c:     mov dl, [esi]
        cmp dl, [edi]
        jne .ne
        inc esi
        inc edi
        test dl, dl
        jnz .c
        mov eax, 1
        jmp .r
.ne:    xor eax, eax
.r:     pop edx
        pop edi
        pop esi
        ret

banner:         db "mbtest: multiboot test kernel", 10, 0
pass_txt:       db "PASS ", 0
fail_txt:       db "FAIL ", 0
got_txt:        db ": got ", 0
want_txt:       db ", want ", 0
newline:        db 10, 0
all_pass:       db "ALL PASS", 10, 0
failed:         db "FAILED ", 0
note_mem:       db "note: mem_lower=", 0
note_upper:     db " mem_upper=", 0
want_cmdline:   db "mbtest cmdline-ok", 0
want_name:      db "Glassbox", 0
want_modname:   db "mbmod.bin", 0
want_modname_len equ $ - want_modname - 1

        align 4
boot_eax:       dd 0
boot_ebx:       dd 0
failures:       dd 0
bss_dirty:      dd 0
gdtr:           dw 0
                dd 0
        align 4
file_end:

section .bss align=4
bss_start:
                resb 4096
stack_top:
bss_end:
