; loop32.asm -- Glassbox benchmark workload: a 32-bit compute loop run in
; real mode on a 386 (32-bit registers through the operand-size prefix 0x66,
; 32-bit addressing through the address-size prefix 0x67).
;
; Build:   nasm -f bin -o loop32.bin loop32.asm            (default ITERS)
;          nasm -f bin -DITERS=1000 -o small.bin loop32.asm
;
; The image is a 64 KiB ROM for 0xF0000-0xFFFFF. The CPU starts at the reset
; vector F000:FFF0, which jumps to `start`. No BIOS is needed: the program sets
; up SS:ESP and DS/ES itself and uses only RAM below 0x8000 (segment 0). All
; 32-bit effective addresses stay below 0x10000, inside the real-mode limit.
;
; What the loop does (per outer iteration): INNER steps of a hash kernel --
;   * a linear congruential generator (IMUL r32, r32, imm32 + ADD) picks a
;     slot of a 256-dword table at 0000:1000 (SHR gives the index);
;   * the slot is loaded and updated in place through [ebx+edx*4]
;     (address-size prefix + SIB byte), mixed with XOR/ROL;
;   * an FNV-1a style hash (XOR, IMUL by the FNV prime) absorbs the value;
;   * a data-dependent TEST/JZ branch whose two arms (SAR+JMP or SHL+NOT)
;     execute the same number of instructions, so the count stays exact;
;   * a 64-bit sum in memory through 16-bit addressing (ADD/ADC dword [disp16]);
;   * DEC ECX / JNZ closes the inner loop; then a CALL to a fold routine
;     (PUSH/POP of a 32-bit register, SHR, SHLD, XOR, RET) and DEC ESI / JNZ
;     close the outer loop.
; Only 386 instructions are used (`cpu 386` makes NASM enforce it).
;
; At the end the program adds the table into the hash, writes
; "loop32 checksum=XXXXXXXX\n" to port 0xE9 (Bochs/QEMU debug console),
; writes "Shutdown" to port 0x8900 (Bochs' shutdown port; Glassbox stops on it
; too), then writes 0 to port 0xF4 (Glassbox/QEMU exit device) and halts with
; interrupts off.
;
; ---------------------------------------------------------------------------
; EXACT INSTRUCTION COUNT (every executed instruction counts 1, a LOOP or Jcc
; counts 1 whether taken or not, the reset-vector far JMP is instruction 1):
;
;   reset JMP ............................................   1
;   setup: 10 + fill loop 256*6 + 6 ..................... 1552
;   ITERS outer iterations, each:
;       MOV ECX + INNER*18 + CALL + fold(7) + 2 = 299   (INNER = 16)
;   checksum: 1 + 256*4 + 2 ............................. 1027
;   print prefix: 2 + CALL + puts(16*3 + 1) .............. 52
;   print hash: 1 + CALL + hex32(51) ..................... 53
;   newline: 2 ............................................ 2
;   shutdown: 3 + 7*3 + 2 (CS LODSB, OUT of the final 'n') 26
;
;   N_shutdown = 299 * ITERS + 2713
;       = number of instructions up to and including the OUT that writes the
;         final 'n' of "Shutdown" to port 0x8900 (where Bochs stops);
;   N_exit     = N_shutdown + 3
;       = up to and including the `out 0xF4, al` (LOOP, MOV AL, OUT follow).
;
;   Default ITERS = 4,000,000:  N_shutdown = 1,196,002,713
;   ITERS = 1000 (the start-up calibration build): N_shutdown = 301,713
; ---------------------------------------------------------------------------

        cpu     386
        bits    16
        org     0                       ; CS = 0xF000, offsets = ROM offsets

%ifndef ITERS
%define ITERS 4000000
%endif
%if ITERS < 1 || ITERS > 0xFFFFFFFF
%error "ITERS must be between 1 and 2^32-1"
%endif

INNER   equ     16                      ; inner-loop steps per outer iteration
SUM     equ     0x0500                  ; qword: running 64-bit sum
TABLE   equ     0x1000                  ; 256 dwords (1 KiB)
STACK   equ     0x7000                  ; initial ESP (SS = 0)

start:
        cli                             ; no interrupts, ever
        cld
        xor     ax, ax
        mov     ss, ax
        mov     esp, STACK              ; clears the upper half of ESP too
        mov     ds, ax
        mov     es, ax

        ; Fill the table with LCG values (ANSI C constants).
        mov     ebx, TABLE
        xor     edi, edi
        mov     eax, 0x12345678         ; setup so far: 10
.fill:  imul    eax, eax, 1103515245
        add     eax, 12345
        mov     [ebx+edi*4], eax
        inc     edi
        cmp     edi, 256
        jne     .fill                   ; 6 per dword

        mov     dword [SUM], 0
        mov     dword [SUM+4], 0
        mov     esi, ITERS
        mov     eax, 0x9E3779B9         ; LCG state
        mov     ebp, 0x811C9DC5         ; FNV offset basis
        xor     edx, edx                ; 6 more: setup = 10 + 1536 + 6 = 1552

; ---- the measured loop: 299 instructions per outer iteration -------------
outer:
        mov     ecx, INNER              ; 1
.inner:                                 ; 18 per inner step:
        imul    eax, eax, 1664525       ;  1 LCG step
        add     eax, 1013904223         ;  2
        mov     edx, eax                ;  3
        shr     edx, 24                 ;  4 table index 0..255
        mov     edi, [ebx+edx*4]        ;  5 load (0x67 prefix, SIB)
        xor     edi, eax                ;  6
        rol     edi, 7                  ;  7
        add     [ebx+edx*4], edi        ;  8 read-modify-write
        xor     ebp, edi                ;  9
        imul    ebp, ebp, 16777619      ; 10 FNV prime
        test    edi, 0x100              ; 11
        jz      .even                   ; 12 data-dependent branch
        sar     edi, 3                  ; 13
        jmp     short .join             ; 14
.even:  shl     edi, 2                  ; 13
        not     edi                     ; 14
.join:  add     [SUM], edi              ; 15 (16-bit addressing, disp16)
        adc     dword [SUM+4], 0        ; 16
        dec     ecx                     ; 17
        jnz     .inner                  ; 18

        call    fold                    ; 1 (+7 inside fold)
        dec     esi                     ; 1
        jnz     outer                   ; 2
; ---------------------------------------------------------------------------

        ; Checksum: hash += sum of the 256 table dwords, then fold in SUM.
        xor     edi, edi                ; 1
.sum:   add     ebp, [ebx+edi*4]
        inc     edi
        cmp     edi, 256
        jne     .sum                    ; 4 per dword
        xor     ebp, [SUM]
        add     ebp, [SUM+4]            ; 2

        mov     si, msg_prefix
        mov     cx, msg_prefix_len      ; msg_prefix_len = 16
        call    puts                    ; 2 + 1 + (3*16 + 1) = 52
        mov     edx, ebp
        call    hex32                   ; 1 + 1 + 51 = 53
        mov     al, 10
        out     0xE9, al                ; 2

        ; Exit, the Bochs way: "Shutdown" to port 0x8900 ...
        mov     si, msg_shutdown
        mov     cx, 8
        mov     dx, 0x8900              ; 3
.sd:    cs lodsb
        out     dx, al
        loop    .sd                     ; Bochs stops at the 8th OUT
        ; ... and the Glassbox/QEMU way: exit device on port 0xF4.
        mov     al, 0
        out     0xF4, al
.halt:  cli
        hlt
        jmp     short .halt

; fold: 7 instructions including RET.
fold:
        push    eax
        mov     eax, ebp
        shr     eax, 15
        xor     ebp, eax
        shld    ebp, eax, 5
        pop     eax
        ret

; puts: write CX bytes from CS:SI to port 0xE9. 3*CX + 1 instructions.
puts:
.c:     cs lodsb
        out     0xE9, al
        loop    .c
        ret

; hex32: write EDX as 8 hex digits to port 0xE9. 3 + 8*6 = 51 instructions.
hex32:
        mov     cx, 8
        mov     bx, hexdigits           ; (EBX's upper half is already 0)
.d:     rol     edx, 4
        mov     al, dl
        and     al, 0x0F
        cs xlatb
        out     0xE9, al
        loop    .d
        ret

hexdigits:      db      "0123456789abcdef"
msg_prefix:     db      "loop32 checksum="
msg_prefix_len  equ     $ - msg_prefix
msg_shutdown:   db      "Shutdown"

%if msg_prefix_len != 16
%error "the instruction count formula assumes a 16-byte prefix"
%endif

; ---- reset vector ----------------------------------------------------------
        times   0xFFF0 - ($ - $$) db 0xFF
        jmp     0xF000:start            ; F000:FFF0, instruction 1
        times   0x10000 - ($ - $$) db 0xFF
