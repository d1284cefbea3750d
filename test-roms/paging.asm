; paging.asm - 32-bit paging on the 386 and later: page faults with CR2 and
; the error code (P, W/R, U/S), user/supervisor and read-only protection
; with CR0.WP (486+), accessed and dirty bits exactly as the hardware sets
; them, INVLPG (486+) and CR3 reloads, a fault while pushing an interrupt
; frame (handled by a #PF task), an instruction fetch running into a
; not-present page, a misaligned write straddling two pages (no partial
; write); 4 MiB pages (Pentium+, CR4.PSE); global pages (P6, CR4.PGE);
; PAE with a 2 MiB page and a fault (P6).

%define ROM_NAME "paging"
%include "common.inc"
%include "pm.inc"
cpu 686

PD              equ 0x20000         ; page directory
PT0             equ 0x21000         ; identity map of 0-4 MiB (user, writable)
PT1             equ 0x22000         ; test pages at 400000h-7FFFFFh
PT3             equ 0x23000         ; C00000h: global page
PAE_PDPT        equ 0x24000
PAE_PD          equ 0x25000
PAE_PT          equ 0x26000

P               equ 1
W               equ 2
U               equ 4
A               equ 0x20
D               equ 0x40
PS              equ 0x80
G               equ 0x100

LIN             equ 0x400000        ; PT1's first page
%define PTE1(i) (PT1 + (i)*4)
%define PAGE(i) (LIN + (i)*0x1000)

SEL_FLAT        equ 0x40            ; flat code, base 0
SEL_TSSPF       equ 0x48            ; the #PF task

gdt_extra:
        DESC 0, 0xFFFFF, ACC_CODE, FL_G | FL_D
        DESC SPARE_TSS, 0x67, ACC_TSS32, 0
gdt_extra_end:

absolute ROM_VARS
pf_runs:        resd 1
pf_err:         resd 1
pf_cr2:         resd 1
pf_resume:      resd 1
pf_resume_esp:  resd 1
section .text

main:
        jmp pm_start

bits 32
main32:
        call build_tables
        mov eax, PD
        mov cr3, eax
        mov [TSS_BASE + 0x1C], eax      ; the main task's CR3 (task switches)
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp short .pg
.pg:    call t_identity
        call t_not_present
        call t_protection
        call t_wp
        call t_accessed_dirty
        call t_flush
        call t_push_fault
        call t_fetch
        call t_straddle
        call t_pse
        call t_pge
        call t_pae
        jmp pm_finish

; ------------------------------------------------------------- tables

build_tables:
        mov edi, PD                     ; clear PD, PT0, PT1, PT3
        mov ecx, 0x4000 / 4
        xor eax, eax
.z:     mov [edi], eax
        add edi, 4
        loop .z
        xor ecx, ecx                    ; PT0: identity, user, writable
.id:    mov eax, ecx
        shl eax, 12
        or eax, P | W | U
        mov [PT0 + ecx*4], eax
        inc ecx
        cmp ecx, 1024
        jb .id
        mov dword [PD + 0*4], PT0 | P | W | U
        mov dword [PD + 1*4], PT1 | P | W | U
        mov dword [PD + 3*4], PT3 | P | W | U
        ; test pages (physical 30000h + i*1000h)
        mov dword [PTE1(0)], 0x30000 | W | U            ; not present
        mov dword [PTE1(1)], 0x31000 | P | W            ; supervisor
        mov dword [PTE1(2)], 0x32000 | P | U            ; user, read-only
        mov dword [PTE1(3)], 0x33000 | P | W | U        ; A/D checks
        mov dword [PTE1(4)], 0x34000 | P | W | U
        mov dword [PTE1(5)], 0                          ; not present
        mov dword [PTE1(6)], 0x36000 | P | W | U        ; remapped to 37000h
        mov dword [0x36000], 0x11111111
        mov dword [0x37000], 0x22222222
        mov dword [0x32010], 0x32323232
        mov dword [0x32034], 0x32323232
        ; the #PF task
        mov edi, SPARE_TSS
        mov ecx, 0x68 / 4
        xor eax, eax
.t:     mov [edi + ecx*4 - 4], eax
        loop .t
        mov dword [edi + 0x1C], PD
        mov dword [edi + 0x20], pf_task
        mov dword [edi + 0x24], 2
        mov dword [edi + 0x38], 0xA000
        mov dword [edi + 0x4C], SEL_CODE32
        mov eax, SEL_DATA
        mov [edi + 0x48], eax
        mov [edi + 0x50], eax
        mov [edi + 0x54], eax
        mov [edi + 0x58], eax
        mov [edi + 0x5C], eax
        mov word [edi + 0x66], 0x68
        ret

; flush: reload CR3 (every non-global TLB entry).
flush:
        push eax
        mov eax, cr3
        mov cr3, eax
        pop eax
        ret

; CHECK_PF "what", error code, cr2, eip - one #PF with these values.
%macro CHECK_PF 4
        mov eax, cr2
        CHECK_EXC32 %1, 14, %2, %4
        CHECK32 "CR2", eax, %3
%endmacro

t_identity:
        PGROUP "paging-on"
        mov eax, cr0
        CHECK32M "CR0.PG", eax, 0x80000001, 0x80000001
        mov eax, [0x9100]
        mov dword [0x9100], 0x5EED
        mov ebx, [0x9100]
        CHECK32 "identity map", ebx, 0x5EED
        PEND
        ret

t_not_present:
        PGROUP "pf-not-present"
        ARM32 .a
.a0:    mov eax, [PAGE(0) + 0x123]
.a:     CHECK_PF "read, CPL 0", 0, PAGE(0) + 0x123, .a0
        ARM32 .b
.b0:    mov dword [PAGE(0) + 0x456], 1
.b:     CHECK_PF "write, CPL 0", W, PAGE(0) + 0x456, .b0
        ARM32 .c
        ENTER_RING3
.c0:    mov eax, [PAGE(0) + 0x789]
.c:     CHECK_PF "read, CPL 3", U, PAGE(0) + 0x789, .c0
        ARM32 .d
        ENTER_RING3
.d0:    mov [PAGE(0) + 0xABC], eax
.d:     CHECK_PF "write, CPL 3", U | W, PAGE(0) + 0xABC, .d0
        CHECK32 "not-present PTE untouched (no A)", [PTE1(0)], 0x30000 | W | U
        PEND
        ret

t_protection:
        PGROUP "pf-protection"
        ARM32 0
        mov eax, [PAGE(1)]
        mov [PAGE(1)], eax
        CHECK_NOEXC32 "supervisor page at CPL 0"
        ARM32 .a
        ENTER_RING3
.a0:    mov eax, [PAGE(1) + 8]
.a:     CHECK_PF "supervisor page read at CPL 3", P | U, PAGE(1) + 8, .a0
        ARM32 .b
        ENTER_RING3
.b0:    mov [PAGE(1) + 12], eax
.b:     CHECK_PF "supervisor page write at CPL 3", P | W | U, PAGE(1) + 12, .b0
        ARM32 0
        ENTER_RING3
        mov ebx, [PAGE(2) + 0x10]
        LEAVE_RING3
        CHECK_NOEXC32 "read-only user page read at CPL 3"
        CHECK32 "its contents", ebx, 0x32323232
        ARM32 .c
        ENTER_RING3
.c0:    mov [PAGE(2) + 0x20], eax
.c:     CHECK_PF "read-only page write at CPL 3", P | W | U, PAGE(2) + 0x20, .c0
        ; a supervisor page directory entry protects the whole table
        and dword [PD + 1*4], ~U
        call flush
        ARM32 .d
        ENTER_RING3
.d0:    mov eax, [PAGE(3)]
.d:     CHECK_PF "user PTE under a supervisor PDE", P | U, PAGE(3), .d0
        or dword [PD + 1*4], U
        call flush
        PEND
        ret

t_wp:
        PGROUP "cr0-wp"
        mov eax, cr0
        and eax, ~0x10000
        mov cr0, eax
        ARM32 0
        mov dword [PAGE(2) + 0x30], 0x0BADBEEF
        CHECK_NOEXC32 "WP=0: supervisor write to a read-only page"
        CHECK32 "written", [0x32030], 0x0BADBEEF
        PIF_CLASS_AT_LEAST CLASS_486, .wp
        PPRINT `note: no CR0.WP on the 386\n`
        PEND
        ret
.wp:    mov eax, cr0
        or eax, 0x10000
        mov cr0, eax
        ARM32 .a
.a0:    mov dword [PAGE(2) + 0x34], 0x0BADBEEF
.a:     CHECK_PF "WP=1: supervisor write to a read-only page", P | W, PAGE(2) + 0x34, .a0
        CHECK32 "not written", [0x32034], 0x32323232
        ARM32 .b
.b0:    mov dword [PAGE(1) + 0x34], 0x0BADBEEF
.b:     CHECK_NOEXC32 "WP=1: supervisor write to a writable page"
        mov eax, cr0
        and eax, ~0x10000
        mov cr0, eax
        PEND
        ret

t_accessed_dirty:
        PGROUP "accessed-dirty"
        mov dword [PD + 1*4], PT1 | P | W | U           ; A clear
        mov dword [PTE1(3)], 0x33000 | P | W | U
        call flush
        mov eax, [PAGE(3) + 0x10]
        CHECK32 "PDE after a read: A", [PD + 1*4], PT1 | P | W | U | A
        CHECK32 "PTE after a read: A, no D", [PTE1(3)], 0x33000 | P | W | U | A
        call flush
        mov [PAGE(3) + 0x10], eax
        CHECK32 "PDE after a write: A only", [PD + 1*4], PT1 | P | W | U | A
        CHECK32 "PTE after a write: A and D", [PTE1(3)], 0x33000 | P | W | U | A | D
        ; a write as the first access sets both at once
        mov dword [PTE1(3)], 0x33000 | P | W | U
        call flush
        mov dword [PAGE(3) + 0x14], 1
        CHECK32 "PTE after a first write", [PTE1(3)], 0x33000 | P | W | U | A | D
        ; a protection fault sets no D
        mov dword [PTE1(2)], 0x32000 | P | U
        call flush
        ARM32 .a
        ENTER_RING3
.a0:    mov [PAGE(2)], eax
.a:     CHECK_PF "write to read-only at CPL 3", P | W | U, PAGE(2), .a0
        CHECK32M "no D after a faulting write", [PTE1(2)], D, 0
        PEND
        ret

t_flush:
        PGROUP "tlb-flush"
        mov eax, [PAGE(6)]
        CHECK32 "first mapping", eax, 0x11111111
        mov dword [PTE1(6)], 0x37000 | P | W | U
        call flush
        mov eax, [PAGE(6)]
        CHECK32 "CR3 reload: the new mapping", eax, 0x22222222
        PIF_CLASS_AT_LEAST CLASS_486, .inv
        PPRINT `note: no INVLPG on the 386\n`
        PEND
        ret
.inv:   mov dword [PTE1(6)], 0x36000 | P | W | U
        invlpg [PAGE(6)]
        mov eax, [PAGE(6)]
        CHECK32 "INVLPG: the new mapping", eax, 0x11111111
        PEND
        ret

; The #PF task: records the error code and CR2, then sends the interrupted
; task to pf_resume.
pf_task:
        inc dword [pf_runs]
        pop dword [pf_err]
        mov eax, cr2
        mov [pf_cr2], eax
        mov eax, [pf_resume]
        mov [TSS_BASE + 0x20], eax
        mov eax, [pf_resume_esp]
        mov [TSS_BASE + 0x38], eax
        iretd
        jmp pf_task

t_push_fault:
        PGROUP "pf-pushing-frame"
        mov dword [IDT_BASE + 14*8], SEL_TSSPF << 16
        mov dword [IDT_BASE + 14*8 + 4], ACC_TASK << 8
        mov dword [pf_resume], .r
        mov [pf_resume_esp], esp
        mov esp, PAGE(0x100)            ; the page below is not present
        int 0x40
.r:     SET_GATE 14, pm_stub_14, SEL_CODE32, ACC_INT32
        CHECK32 "#PF task ran", [pf_runs], 1
        CHECK32 "error code: supervisor write", [pf_err], W
        CHECK32M "CR2 in the stack page", [pf_cr2], 0xFFFFF000, PAGE(0xFF)
        PEND
        ret

t_fetch:
        PGROUP "pf-fetch"
        ; MOV EAX, imm32 whose last two bytes lie in the missing page
        mov byte [0x34FFD], 0xB8
        mov byte [0x34FFE], 0x78
        mov byte [0x34FFF], 0x56
        ARM32 .a
        call SEL_FLAT:PAGE(4) + 0xFFD
.a:     CHECK_PF "fetch crossing into a not-present page", 0, PAGE(5), PAGE(4) + 0xFFD
        CHECK32M "pushed CS", [pm_exc_cs], 0xFFFF, SEL_FLAT
        PEND
        ret

t_straddle:
        PGROUP "pf-straddle"
        mov dword [0x34FFC], 0x44332211
        ARM32 .a
.a0:    mov dword [PAGE(4) + 0xFFE], 0xDDCCBBAA
.a:     CHECK_PF "dword write across into a not-present page", W, PAGE(5), .a0
        CHECK32 "no partial write", [0x34FFC], 0x44332211
        ARM32 .b
.b0:    mov eax, [PAGE(4) + 0xFFF]
.b:     CHECK_PF "dword read across", 0, PAGE(5), .b0
        PEND
        ret

t_pse:
        PGROUP "pse-4m"
        PIF_CLASS_AT_LEAST CLASS_586, .go
        PPRINT `note: no 4 MiB pages before the Pentium\n`
        PEND
        ret
.go:    mov eax, cr4
        or eax, 0x10                    ; PSE
        mov cr4, eax
        mov dword [PD + 2*4], 0 | P | W | U | PS          ; 800000h -> 0
        call flush
        mov dword [0x9200], 0xFACE
        mov eax, [0x800000 + 0x9200]
        CHECK32 "read through a 4 MiB page", eax, 0xFACE
        CHECK32 "PDE after a read: A", [PD + 2*4], P | W | U | PS | A
        mov dword [0x800000 + 0x9204], 0xCAFE
        CHECK32 "written through it", [0x9204], 0xCAFE
        CHECK32 "PDE after a write: A and D", [PD + 2*4], P | W | U | PS | A | D
        mov dword [PD + 2*4], 0x400000 | W | U | PS       ; not present
        call flush
        ARM32 .a
.a0:    mov eax, [0x800000 + 0x1234]
.a:     CHECK_PF "not-present 4 MiB page", 0, 0x801234, .a0
        mov dword [PD + 2*4], 0
        mov eax, cr4
        and eax, ~0x10
        mov cr4, eax
        call flush
        PEND
        ret

t_pge:
        PGROUP "pge-global"
        PIF_CLASS_AT_LEAST CLASS_686, .go
        PPRINT `note: no global pages before the Pentium Pro\n`
        PEND
        ret
.go:    mov dword [0x38000], 0x600D6E
        mov dword [PT3], 0x38000 | P | W | U | G
        mov eax, cr4
        or eax, 0x80                    ; PGE
        mov cr4, eax
        mov eax, [0xC00000]
        CHECK32 "global page", eax, 0x600D6E
        call flush
        mov eax, [0xC00000]
        CHECK32 "after a CR3 reload", eax, 0x600D6E
        mov eax, cr4
        and eax, ~0x80
        mov cr4, eax
        mov eax, [0xC00000]
        CHECK32 "after clearing PGE", eax, 0x600D6E
        CHECK32 "PTE: A set, G kept", [PT3], 0x38000 | P | W | U | G | A
        PEND
        ret

t_pae:
        PGROUP "pae"
        PIF_CLASS_AT_LEAST CLASS_686, .go
        PPRINT `note: no PAE before the Pentium Pro\n`
        PEND
        ret
.go:    mov edi, PAE_PDPT               ; clear PDPT, PD, PT
        mov ecx, 0x3000 / 4
        xor eax, eax
.z:     mov [edi], eax
        add edi, 4
        loop .z
        mov dword [PAE_PDPT], PAE_PD | P
        mov dword [PAE_PD + 0*8], PAE_PT | P | W | U
        mov dword [PAE_PD + 2*8], 0 | P | W | U | PS      ; 400000h -> 0 (2 MiB)
        xor ecx, ecx
.id:    mov eax, ecx
        shl eax, 12
        or eax, P | W | U
        mov [PAE_PT + ecx*8], eax
        inc ecx
        cmp ecx, 512
        jb .id
        mov eax, cr0
        and eax, ~0x80000000
        mov cr0, eax
        mov eax, cr4
        or eax, 0x20                    ; PAE
        mov cr4, eax
        mov eax, PAE_PDPT
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp short .on
.on:    mov dword [0x9300], 0xA5A5
        mov eax, [0x400000 + 0x9300]
        CHECK32 "read through a 2 MiB page", eax, 0xA5A5
        CHECK32 "PDE after a read: A", [PAE_PD + 2*8], P | W | U | PS | A
        mov dword [0x400000 + 0x9304], 1
        CHECK32 "PDE after a write: A and D", [PAE_PD + 2*8], P | W | U | PS | A | D
        CHECK32 "PDE high half", [PAE_PD + 2*8 + 4], 0
        CHECK32 "PTE (8 bytes) A set", [PAE_PT + 9*8], 0x9000 | P | W | U | A | D
        ARM32 .a
.a0:    mov eax, [0x600123]
.a:     CHECK_PF "not-present PDE", 0, 0x600123, .a0
        ARM32 .b
        ENTER_RING3
.b0:    mov [0x600456], eax
.b:     CHECK_PF "not-present PDE, CPL 3 write", U | W, 0x600456, .b0
        mov eax, cr0
        and eax, ~0x80000000
        mov cr0, eax
        mov eax, cr4
        and eax, ~0x20
        mov cr4, eax
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        PEND
        ret

bits 16
        ROM_END
