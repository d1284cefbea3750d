; loop16.asm -- Glassbox benchmark workload: a 16-bit integer loop typical of
; real-mode code.
;
; Build:   nasm -f bin -o loop16.bin loop16.asm            (default ITERS)
;          nasm -f bin -DITERS=1000 -o small.bin loop16.asm
;
; The image is a 64 KiB ROM for 0xF0000-0xFFFFF. The CPU starts at the reset
; vector F000:FFF0, which jumps to `start`. No BIOS is needed: the program sets
; up SS:SP and DS/ES itself and uses only RAM below 0x8000 (segment 0).
;
; What the loop does (per outer iteration):
;   * an inner loop of INNER steps, run by LOOP, that walks a 256-byte table
;     at 0000:0600 through [bx+si] (word load/store) and [bx+di] (byte
;     load/store), mixes the values with ADD/XOR/INC/AND, and takes a
;     data-dependent CMP/JB branch (both arms execute the same number of
;     instructions, so the instruction count stays exact);
;   * a CALL to a small subroutine with PUSH/POP, a shift by CL, ADC, XCHG, RET;
;   * a 32-bit iteration counter in memory decremented with SUB/SBB, tested
;     with MOV/OR/JNZ -- the way real-mode code counts past 65535.
; Only 8086 instructions are used (`cpu 8086` makes NASM enforce it).
;
; At the end the program adds the table into a 32-bit checksum (DX:BP),
; writes "loop16 checksum=XXXXXXXX\n" to port 0xE9 (Bochs/QEMU debug console),
; writes "Shutdown" to port 0x8900 (Bochs' shutdown port; Glassbox stops on it
; too), then writes 0 to port 0xF4 (Glassbox/QEMU exit device) and halts with
; interrupts off.
;
; ---------------------------------------------------------------------------
; EXACT INSTRUCTION COUNT (every executed instruction counts 1, a LOOP or Jcc
; counts 1 whether taken or not, the reset-vector far JMP is instruction 1):
;
;   reset JMP ............................................   1
;   setup: 10 + fill loop 128*3 + 7 ...................... 401
;   ITERS outer iterations, each:
;       MOV CX + INNER*18 + CALL + mix(10) + 5  = 305   (INNER = 16)
;   checksum: 2 + 128*5 ................................... 642
;   print prefix: 2 + CALL + puts(16*3 + 1) .............. 52
;   print DX: 1 + CALL + hex16(43) ....................... 45
;   print BP: 1 + CALL + hex16(43) ....................... 45
;   newline: 2 ............................................ 2
;   shutdown: 3 + 7*3 + 2 (CS LODSB, OUT of the final 'n') 26
;
;   N_shutdown = 305 * ITERS + 1214
;       = number of instructions up to and including the OUT that writes the
;         final 'n' of "Shutdown" to port 0x8900 (where Bochs stops);
;   N_exit     = N_shutdown + 3
;       = up to and including the `out 0xF4, al` (LOOP, MOV AL, OUT follow).
;
;   Default ITERS = 4,000,000:  N_shutdown = 1,220,001,214
;   ITERS = 1000 (the start-up calibration build): N_shutdown = 306,214
; ---------------------------------------------------------------------------

        cpu     8086
        bits    16
        org     0                       ; CS = 0xF000, offsets = ROM offsets

%ifndef ITERS
%define ITERS 4000000
%endif
%if ITERS < 1 || ITERS > 0xFFFFFFFF
%error "ITERS must be between 1 and 2^32-1"
%endif

INNER   equ     16                      ; inner-loop steps per outer iteration
COUNT   equ     0x0500                  ; dword: outer iterations left
TABLE   equ     0x0600                  ; 256-byte work table (128 words)
STACK   equ     0x7000                  ; initial SP (SS = 0)

start:
        cli                             ; no interrupts, ever
        cld
        xor     ax, ax
        mov     ss, ax
        mov     sp, STACK
        mov     ds, ax
        mov     es, ax

        ; Fill the table with a simple arithmetic sequence (128 words).
        mov     di, TABLE
        mov     ax, 0x1234
        mov     cx, 128                 ; setup so far: 10
.fill:  stosw
        add     ax, 0x9E37
        loop    .fill                   ; 3 per word

        mov     word [COUNT], ITERS & 0xFFFF
        mov     word [COUNT+2], (ITERS >> 16) & 0xFFFF
        mov     bx, TABLE
        xor     si, si
        xor     di, di
        mov     dx, 0x5A5A
        xor     bp, bp                  ; 7 more: setup = 10 + 384 + 7 = 401

; ---- the measured loop: 305 instructions per outer iteration -------------
outer:
        mov     cx, INNER               ; 1
.inner:                                 ; 18 per inner step:
        mov     ax, [bx+si]             ;  1 word load
        add     ax, dx                  ;  2
        xor     ax, cx                  ;  3
        mov     [bx+si], ax             ;  4 word store
        add     dx, ax                  ;  5
        inc     si                      ;  6
        inc     si                      ;  7
        and     si, 0x00FE              ;  8 stay inside the table
        mov     al, [bx+di]             ;  9 byte load
        xor     al, dh                  ; 10
        mov     [bx+di], al             ; 11 byte store
        inc     di                      ; 12
        and     di, 0x00FF              ; 13
        cmp     ax, dx                  ; 14
        jb      .below                  ; 15 data-dependent branch
        sub     bp, ax                  ; 16
        jmp     short .next             ; 17
.below: add     bp, dx                  ; 16
        rol     bp, 1                   ; 17
.next:  loop    .inner                  ; 18

        call    mix                     ; 1 (+10 inside mix)
        sub     word [COUNT], 1         ; 1
        sbb     word [COUNT+2], 0       ; 2
        mov     ax, [COUNT]             ; 3
        or      ax, [COUNT+2]           ; 4
        jnz     outer                   ; 5
; ---------------------------------------------------------------------------

        ; Checksum: DX:BP += sum of the 128 table words.
        mov     cx, 128
        xor     si, si                  ; 2
.sum:   add     bp, [bx+si]
        adc     dx, 0
        inc     si
        inc     si
        loop    .sum                    ; 5 per word

        mov     si, msg_prefix
        mov     cx, msg_prefix_len      ; msg_prefix_len = 16
        call    puts                    ; 2 + 1 + (3*16 + 1) = 52
        mov     ax, dx
        call    hex16                   ; 1 + 1 + 43 = 45
        mov     ax, bp
        call    hex16                   ; 45
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

; mix: 10 instructions including RET.
mix:
        push    bx
        push    cx
        mov     bx, bp
        mov     cl, 3
        shr     bx, cl
        adc     dx, bx
        xchg    dh, dl
        pop     cx
        pop     bx
        ret

; puts: write CX bytes from CS:SI to port 0xE9. 3*CX + 1 instructions.
puts:
.c:     cs lodsb
        out     0xE9, al
        loop    .c
        ret

; hex16: write AX as 4 hex digits to port 0xE9. 2 + 4*10 + 1 = 43 instructions.
hex16:
        mov     cx, 4
        mov     bx, hexdigits
.d:     push    cx
        mov     cl, 4
        rol     ax, cl
        pop     cx
        push    ax
        and     al, 0x0F
        cs xlatb
        out     0xE9, al
        pop     ax
        loop    .d
        ret

hexdigits:      db      "0123456789abcdef"
msg_prefix:     db      "loop16 checksum="
msg_prefix_len  equ     $ - msg_prefix
msg_shutdown:   db      "Shutdown"

%if msg_prefix_len != 16
%error "the instruction count formula assumes a 16-byte prefix"
%endif

; ---- reset vector ----------------------------------------------------------
        times   0xFFF0 - ($ - $$) db 0xFF
        jmp     0xF000:start            ; F000:FFF0, instruction 1
        times   0x10000 - ($ - $$) db 0xFF
