; pm32.asm -- Glassbox benchmark workload: a 32-bit loop in paged protected
; mode, modelled on the Linux kernel's multi-precision multiply (lib/mpi,
; shaped like mpihelp_addmul_1, with 16x16-bit partial products), the kind
; of code a Linux boot spends most of its time in.
;
; Build:   nasm -f bin -o pm32.bin pm32.asm                (default ITERS)
;          nasm -f bin -DITERS=1000 -o small.bin pm32.asm
;
; The image is a 64 KiB ROM for 0xF0000-0xFFFFF. The CPU starts at the reset
; vector F000:FFF0, which jumps to `start16`. No BIOS is needed: the program
; loads a flat GDT (code and data, base 0, limit 4 GiB), switches to 32-bit
; protected mode, builds a page directory at 0x10000 and one page table at
; 0x11000 that identity-map the first 4 MiB with 4 KiB pages, and turns on
; paging; everything after that runs paged at CPL 0. It uses only RAM below
; 0x80000 (the stack grows down from there).
;
; What the loop does (per outer iteration): the next multiplier limb v comes
; from an LCG on the value left by the previous iteration; v is passed on the
; stack to a C-style function `addmul_1` (PUSH EBP / MOV EBP, ESP frame,
; callee-saved registers pushed, locals at [ebp-0x18] and [ebp-0x14]), which
; walks the LIMBS-limb multiplicand a[] at 0x20000 and adds a[i] * v into
; the result array res[] at 0x21000, carrying a limb from step to step. Each
; step has the instruction mix of the compiled kernel loop (its arithmetic is
; not an exact 64-bit product, but it is fixed, so the checksum is too):
;   * splits a[i] and v into 16-bit halves (MOVZX, SHR), forms the partial
;     products with IMUL (register and [ebp-disp] operands) and stores and
;     reloads a half through [ebp-0x14];
;   * CMP + CMOVAE picks the high word (no branch: the count stays exact);
;   * ADD of the carry limb, SETB + MOVZX for the carry out of it;
;   * ADD into res[i] through [disp32+ebx*4] and ADC into the carry limb;
;   * ADD EBX, 1 / CMP / JNE closes the inner loop.
; The function returns the carry limb, which is XORed into the LCG state, so
; every step's products feed every later multiplier limb.
; `cpu 686` (CMOVcc) makes NASM refuse anything a Pentium II lacks.
;
; At the end the program adds the result array into the LCG state, writes
; "pm32 checksum=XXXXXXXX\n" to port 0xE9 (Bochs/QEMU debug console), writes
; "Shutdown" to port 0x8900 (Bochs' shutdown port; Glassbox stops on it too),
; then writes 0 to port 0xF4 (Glassbox/QEMU exit device) and halts with
; interrupts off. Port I/O is allowed: CPL 0, IOPL 0.
;
; ---------------------------------------------------------------------------
; EXACT INSTRUCTION COUNT (every executed instruction counts 1, a LOOP or Jcc
; counts 1 whether taken or not, the reset-vector far JMP is instruction 1;
; no REP prefixes are used):
;
;   reset JMP ............................................   1
;   real mode to protected mode: 7 .......................   7
;   segments and stack: 6 ................................   6
;   page directory: 3 + 1024*2 .......................... 2051
;   page table: 4 + 1024*3 .............................. 3076
;   paging on: 5 ..........................................  5
;   arrays: 3 + LIMBS*5 + 2 .............................. 325
;   ITERS outer iterations, each:
;       10 + addmul_1(10 + LIMBS*25 + 7) = 1627         (LIMBS = 64)
;   checksum: 2 + LIMBS*4 ................................ 258
;   print prefix: 2 + CALL + puts(14*3 + 1) .............. 46
;   print hash: 1 + CALL + hex32(51) ..................... 53
;   newline: 2 ............................................ 2
;   shutdown: 3 + 7*3 + 2 (LODSB, OUT of the final 'n') ... 26
;
;   N_shutdown = 1627 * ITERS + 5856
;       = number of instructions up to and including the OUT that writes the
;         final 'n' of "Shutdown" to port 0x8900 (where Bochs stops);
;   N_exit     = N_shutdown + 3
;       = up to and including the `out 0xF4, al` (LOOP, MOV AL, OUT follow).
;
;   Default ITERS = 740,000:  N_shutdown = 1,203,985,856
;   ITERS = 1000 (the start-up calibration build): N_shutdown = 1,632,856
; ---------------------------------------------------------------------------

        cpu     686
        bits    16
        org     0                       ; CS = 0xF000, offsets = ROM offsets

%ifndef ITERS
%define ITERS 740000
%endif
%if ITERS < 1 || ITERS > 0xFFFFFFFF
%error "ITERS must be between 1 and 2^32-1"
%endif

LIMBS   equ     64                      ; limbs per operand (2048 bits)
ROM     equ     0xF0000                 ; linear address of the image
PGDIR   equ     0x10000                 ; page directory (1024 entries)
PGTAB   equ     0x11000                 ; page table for 0-4 MiB
ARR_A   equ     0x20000                 ; multiplicand a[], LIMBS dwords
ARR_RES equ     0x21000                 ; result res[], LIMBS dwords
VSTATE  equ     0x22000                 ; dword: LCG state for the limb v
STACK   equ     0x80000                 ; initial ESP

; ---- real mode: load the GDT, set CR0.PE, far jump into 32-bit code -------
start16:
        cli                             ; no interrupts, ever
        cld
        o32 lgdt [cs:gdtr]              ; 32-bit base
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     dword 0x08:(ROM + start32)      ; 7

        align   8
gdt:    dq      0                       ; null descriptor
        dq      0x00CF9A000000FFFF      ; 0x08: code, base 0, 4 GiB, 32-bit
        dq      0x00CF92000000FFFF      ; 0x10: data, base 0, 4 GiB, 32-bit
gdtr:   dw      gdtr - gdt - 1
        dd      ROM + gdt

        bits    32
start32:
        mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, STACK
        xor     ebp, ebp                ; 6

        ; Page directory: entry 0 points to the page table, the rest are
        ; not present.
        mov     edi, PGDIR
        xor     eax, eax
        mov     ecx, 1024               ; 3
.pd:    stosd
        loop    .pd                     ; 2 per entry
        mov     dword [PGDIR], PGTAB + 3        ; present, writable
        mov     edi, PGTAB
        mov     eax, 3                  ; page 0, present, writable
        mov     ecx, 1024               ; 4
.pt:    stosd
        add     eax, 0x1000
        loop    .pt                     ; 3 per entry: identity 0-4 MiB
        mov     eax, PGDIR
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax                ; 5: paging on (identity, so EIP
                                        ; goes on in the same place)

        ; a[] = LCG values (ANSI C constants), res[] = 0.
        mov     edi, ARR_A
        mov     ecx, LIMBS
        mov     eax, 0x12345678         ; 3
.fill:  mov     dword [edi + ARR_RES - ARR_A], 0
        stosd
        imul    eax, eax, 1103515245
        add     eax, 12345
        loop    .fill                   ; 5 per limb
        mov     dword [VSTATE], 0x9E3779B9
        mov     edi, ITERS              ; 2

; ---- the measured loop: 1627 instructions per outer iteration -------------
outer:
        mov     eax, [VSTATE]           ;  1
        imul    eax, eax, 1664525       ;  2 LCG step: the next limb v
        add     eax, 1013904223         ;  3
        mov     [VSTATE], eax           ;  4
        push    eax                     ;  5 argument v
        call    addmul_1                ;  6 (+ 10 + LIMBS*25 + 7 inside)
        add     esp, 4                  ;  7
        xor     [VSTATE], eax           ;  8 the carry limb feeds the LCG
        dec     edi                     ;  9
        jnz     outer                   ; 10
; ---------------------------------------------------------------------------

        ; Checksum: the LCG state plus the sum of the result limbs.
        mov     ebp, [VSTATE]
        xor     ebx, ebx                ; 2
.sum:   add     ebp, [ARR_RES + ebx*4]
        inc     ebx
        cmp     ebx, LIMBS
        jne     .sum                    ; 4 per limb

        mov     esi, ROM + msg_prefix
        mov     ecx, msg_prefix_len     ; msg_prefix_len = 14
        call    puts                    ; 2 + 1 + (3*14 + 1) = 46
        mov     edx, ebp
        call    hex32                   ; 1 + 1 + 51 = 53
        mov     al, 10
        out     0xE9, al                ; 2

        ; Exit, the Bochs way: "Shutdown" to port 0x8900 ...
        mov     esi, ROM + msg_shutdown
        mov     ecx, 8
        mov     dx, 0x8900              ; 3
.sd:    lodsb
        out     dx, al
        loop    .sd                     ; Bochs stops at the 8th OUT
        ; ... and the Glassbox/QEMU way: exit device on port 0xF4.
        mov     al, 0
        out     0xF4, al
.halt:  cli
        hlt
        jmp     short .halt

; addmul_1: res[i] += a[i] * v for i = 0..LIMBS-1 with a carry limb, v the
; dword argument at [ebp+8]; returns the final carry limb in EAX.
; 10 + LIMBS*25 + 7 instructions including RET.
addmul_1:
        push    ebp                     ;  1
        mov     ebp, esp                ;  2
        push    edi                     ;  3
        push    esi                     ;  4
        push    ebx                     ;  5
        sub     esp, 0x1C               ;  6 locals down to [ebp-0x28]
        mov     eax, [ebp+8]            ;  7
        mov     [ebp-0x18], eax         ;  8 v
        xor     ebx, ebx                ;  9 i
        xor     esi, esi                ; 10 carry limb
.step:                                  ; 25 per limb:
        mov     edx, [ARR_A + ebx*4]    ;  1 u = a[i]
        mov     eax, [ebp-0x18]         ;  2 v
        movzx   ecx, dx                 ;  3 u low half
        shr     edx, 16                 ;  4 u high half
        mov     edi, eax                ;  5
        shr     edi, 16                 ;  6 v high half
        movzx   eax, ax                 ;  7 v low half
        imul    eax, ecx                ;  8 x0 = ul * vl
        imul    ecx, edi                ;  9 x1 = ul * vh
        mov     [ebp-0x14], edx         ; 10
        imul    edx, [ebp-0x18]         ; 11 uh * v ([ebp-disp] operand)
        add     ecx, edx                ; 12 x1 += that
        mov     edx, [ebp-0x14]         ; 13
        imul    edx, edi                ; 14 x3 = uh * vh
        add     edx, 0x10000            ; 15 x3 + 2^16
        cmp     ecx, eax                ; 16
        cmovae  edx, [ebp-0x14]         ; 17 or uh: high word, no branch
        add     eax, esi                ; 18 + carry limb
        setb    cl                      ; 19
        movzx   esi, cl                 ; 20
        add     [ARR_RES + ebx*4], eax  ; 21 res[i] += low word
        adc     esi, edx                ; 22 new carry limb
        add     ebx, 1                  ; 23
        cmp     ebx, LIMBS              ; 24
        jne     .step                   ; 25
        mov     eax, esi                ;  1 return the carry limb
        add     esp, 0x1C               ;  2
        pop     ebx                     ;  3
        pop     esi                     ;  4
        pop     edi                     ;  5
        pop     ebp                     ;  6
        ret                             ;  7

; puts: write ECX bytes from DS:ESI to port 0xE9. 3*ECX + 1 instructions.
puts:
.c:     lodsb
        out     0xE9, al
        loop    .c
        ret

; hex32: write EDX as 8 hex digits to port 0xE9. 3 + 8*6 = 51 instructions.
hex32:
        mov     ecx, 8
        mov     ebx, ROM + hexdigits
.d:     rol     edx, 4
        mov     al, dl
        and     al, 0x0F
        xlatb
        out     0xE9, al
        loop    .d
        ret

hexdigits:      db      "0123456789abcdef"
msg_prefix:     db      "pm32 checksum="
msg_prefix_len  equ     $ - msg_prefix
msg_shutdown:   db      "Shutdown"

%if msg_prefix_len != 14
%error "the instruction count formula assumes a 14-byte prefix"
%endif

; ---- reset vector ----------------------------------------------------------
        times   0xFFF0 - ($ - $$) db 0xFF
        bits    16
        jmp     0xF000:start16          ; F000:FFF0, instruction 1
        times   0x10000 - ($ - $$) db 0xFF
