; addr32.asm - 386+ features in real mode: 32-bit registers, the operand-
; and address-size prefixes, every 32-bit ModRM/SIB addressing form, FS/GS,
; MOVZX/MOVSX, BT/BTS/BTR/BTC, BSF/BSR, SETcc, SHLD/SHRD, and on the 486
; BSWAP/XADD/CMPXCHG (which must raise #UD on a 386); finally an effective
; address above FFFFh must raise #GP (INT 13), or #SS (INT 12) for SS-based
; operands, because real-mode segment limits are still 64 KiB.
;
; Segments DS=2000, ES=3000, FS=4000, GS=5000, SS=6000 are filled with
; PAT(offset) XOR a per-segment key, so a load shows both the effective
; address and the segment it went through.  Expected values are computed
; by the assembler; QEMU and Bochs agree with them.
; Build with -DNO_REAL_MODE_LIMITS for emulators without real-mode limit
; checks (QEMU's TCG): the limits group is then skipped.

%define ROM_NAME "addr32"
%include "common.inc"

K_DS    equ 0x00
K_ES    equ 0x11
K_FS    equ 0x22
K_GS    equ 0x33
K_SS    equ 0x44
FILL_END equ 0xF000                     ; patterns cover 0000-EFFF

%define PATB(o,k) (((((o) & 0xFF) ^ (((((o) >> 8) & 0xFF) * 0x1D) & 0xFF) ^ 0x5A) ^ (k)) & 0xFF)
%define PAT32(o,k) (PATB(o,k) | (PATB((o)+1,k) << 8) | (PATB((o)+2,k) << 16) | (PATB((o)+3,k) << 24))
%define PAT16(o,k) (PATB(o,k) | (PATB((o)+1,k) << 8))

; register values loaded by `preset` before each addressing case
R_EAX   equ 0x00000120
R_ECX   equ 0x00000230
R_EDX   equ 0x00000340
R_EBX   equ 0x00001450
R_EBP   equ 0x00002560
R_ESI   equ 0x00000670
R_EDI   equ 0x00000780

section .text

; CHECK32 "what", actual, expected - like CHECK16 for 32-bit values.
%macro CHECK32 3
        NEXT_CHECK
        pushf
        push eax
        push si
        mov eax, %3
%ifdef MUTATE_THIS
        xor eax, 1
%endif
        push eax                        ; expected
        push bp
        mov bp, sp
        mov eax, [bp+8]                 ; the caller's EAX again
        pop bp
        mov eax, %2
        push eax                        ; actual
        mov si, %%s
        call chk32
        add sp, 8
        pop si
        pop eax
        popf
        jmp %%o
%%s:    db %1, 0
%%o:
%endmacro

main:
        IF_CLASS_AT_LEAST CLASS_386, .go
        GROUP "addr32"
        FAIL "this ROM needs a 386 or later"
        END_GROUP
        jmp finish
.go:    cpu 386
        cli
        mov ax, 0x6000
        mov ss, ax
        mov esp, 0xFFF0
        mov ax, 0x2000
        mov dl, K_DS
        call fill
        mov ax, 0x3000
        mov dl, K_ES
        call fill
        mov ax, 0x4000
        mov dl, K_FS
        call fill
        mov ax, 0x5000
        mov dl, K_GS
        call fill
        mov ax, 0x6000
        mov dl, K_SS
        call fill
        call test_segs
        call t_registers
        call t_modrm
        call t_sib
        call t_overrides
        call t_prefixes
        call t_movx
        call t_bits
        call t_setcc
        call t_shld
        call t_486
        call t_limits
        jmp finish

; fill: segment AX, offsets 0..FILL_END-1 = PAT(offset) ^ DL.
fill:   mov es, ax
        xor di, di
        xor bx, bx
.l:     mov ax, di
        xor al, bl
        xor al, 0x5A
        xor al, dl
        mov [es:di], al
        inc di
        cmp di, FILL_END
        jae .e
        test di, 0x00FF
        jnz .l
        add bl, 0x1D
        jmp .l
.e:     ret

; test_segs: DS/ES/FS/GS as described above (SS stays 6000).
test_segs:
        mov ax, 0x2000
        mov ds, ax
        mov ax, 0x3000
        mov es, ax
        mov ax, 0x4000
        mov fs, ax
        mov ax, 0x5000
        mov gs, ax
        ret

preset: mov eax, R_EAX
        mov ecx, R_ECX
        mov edx, R_EDX
        mov ebx, R_EBX
        mov ebp, R_EBP
        mov esi, R_ESI
        mov edi, R_EDI
        ret

chk32:  push bp
        mov bp, sp
        push eax
        mov eax, [bp+4]
        cmp eax, [bp+8]
        je .ok
        call fail_begin
        call puts
        mov si, s_got
        call puts
        call puthex_eax
        mov si, s_want
        call puts
        mov eax, [bp+8]
        call puthex_eax
        call newline
.ok:    pop eax
        pop bp
        ret

puthex_eax:
        push eax
        push dx
        push eax
        pop ax
        pop dx
        call puthex32
        pop dx
        pop eax
        ret

; ---------------------------------------------------------------- cases

; EA "what", out, form, ea, key - LEA gives ea, MOV loads PAT32(ea) ^ key.
%macro EA 5
        call preset
        lea %2, %3
        CHECK32 {%1, ": LEA"}, %2, %4
        call preset
        mov %2, %3
        CHECK32 {%1, ": load"}, %2, PAT32(%4, %5)
%endmacro

; EAD "what", out, form, ea, key - the load only (segment overrides).
%macro EAD 5
        call preset
        mov %2, %3
        CHECK32 {%1, ": load"}, %2, PAT32(%4, %5)
%endmacro

t_registers:
        GROUP "registers-32"
        mov eax, 0x12345678
        mov ax, 0xAAAA
        CHECK32 "MOV AX keeps the upper half", eax, 0x1234AAAA
        mov ah, 0x55
        CHECK32 "MOV AH", eax, 0x123455AA
        mov eax, 0x7FFFFFFF
        add eax, 1
        pushf
        pop bx
        and bx, F_ARITH
        CHECK32 "7FFFFFFF + 1", eax, 0x80000000
        CHECK16 "7FFFFFFF + 1 FLAGS", bx, F_OF | F_SF | F_AF | F_PF
        mov eax, 0xFFFFFFFF
        add eax, 1
        pushf
        pop bx
        and bx, F_ARITH
        CHECK32 "FFFFFFFF + 1", eax, 0
        CHECK16 "FFFFFFFF + 1 FLAGS", bx, F_ZF | F_AF | F_PF | F_CF
        mov eax, 0x00012345
        mov ebx, 0x00010000
        mul ebx                         ; 12345_0000 -> EDX:EAX
        CHECK32 "MUL 32: EDX", edx, 0x00000001
        CHECK32 "MUL 32: EAX", eax, 0x23450000
        mov edx, 0x00000001
        mov eax, 0x00000005
        mov ecx, 0x00000003
        div ecx                         ; 1_0000_0005 / 3
        CHECK32 "DIV 32: EAX", eax, 0x55555557
        CHECK32 "DIV 32: EDX", edx, 0
        mov eax, 0xFFFFFFFE             ; -2 * 3
        imul eax, eax, 3
        CHECK32 "IMUL r32, r32, imm", eax, 0xFFFFFFFA
        mov eax, 0x89ABCDEF
        push eax
        pop bx
        pop cx
        CHECK16 "PUSH EAX: low word", bx, 0xCDEF
        CHECK16 "PUSH EAX: high word", cx, 0x89AB
        push fs
        pop dx
        CHECK16 "PUSH FS", dx, 0x4000
        push gs
        pop ax
        CHECK16 "PUSH GS", ax, 0x5000
        END_GROUP
        ret

t_modrm:
        GROUP "modrm32"
        EA "[eax]", edx, [eax], R_EAX, K_DS
        EA "[ecx]", edx, [ecx], R_ECX, K_DS
        EA "[edx]", eax, [edx], R_EDX, K_DS
        EA "[ebx]", edx, [ebx], R_EBX, K_DS
        EA "[esi]", edx, [esi], R_ESI, K_DS
        EA "[edi]", edx, [edi], R_EDI, K_DS
        EA "[disp32]", edx, [dword 0x00003456], 0x3456, K_DS
        EA "[eax+disp8]", edx, [eax+0x10], R_EAX+0x10, K_DS
        EA "[ebx-disp8]", edx, [ebx-0x80], R_EBX-0x80, K_DS
        EA "[ebp+disp8] (SS)", edx, [ebp+0x10], R_EBP+0x10, K_SS
        EA "[ebp-disp8] (SS)", edx, [ebp-0x20], R_EBP-0x20, K_SS
        EA "[esi+disp32]", edx, [dword esi+0x1000], R_ESI+0x1000, K_DS
        EA "[ebp+disp32] (SS)", edx, [dword ebp+0x1000], R_EBP+0x1000, K_SS
        EA "[ebx+FFFFF000] (wraps at 4 GiB)", edx, [dword ebx+0xFFFFF000], R_EBX-0x1000, K_DS
        EA "[eax+FFFFFF00]", edx, [dword eax+0xFFFFFF00], R_EAX-0x100, K_DS
        END_GROUP
        ret

t_sib:
        GROUP "sib"
        EA "[eax+ecx]", edx, [eax+ecx], R_EAX+R_ECX, K_DS
        EA "[ebx+esi*2]", edx, [ebx+esi*2], R_EBX+R_ESI*2, K_DS
        EA "[ecx+edx*4]", eax, [ecx+edx*4], R_ECX+R_EDX*4, K_DS
        EA "[edx+edi*8]", eax, [edx+edi*8], R_EDX+R_EDI*8, K_DS
        EA "[ebx*4+disp32] (no base)", edx, [ebx*4+0x100], R_EBX*4+0x100, K_DS
        EA "[ebp*2+disp32] (no base: DS)", edx, [nosplit ebp*2+0x10], R_EBP*2+0x10, K_DS
        EA "[esi+ebp*1] (base ESI: DS)", edx, [esi+ebp*1], R_ESI+R_EBP, K_DS
        EA "[ebp+esi*1+disp8] (base EBP: SS)", edx, [ebp+esi*1+8], R_EBP+R_ESI+8, K_SS
        EA "[ebp+edi*4+disp32] (SS)", edx, [dword ebp+edi*4+0x200], R_EBP+R_EDI*4+0x200, K_SS
        EA "[eax+ebx*8-disp8]", edx, [eax+ebx*8-0x40], R_EAX+R_EBX*8-0x40, K_DS
        EA "[ecx+ebx*2+FFFFF000]", edx, [dword ecx+ebx*2+0xFFFFF000], R_ECX+R_EBX*2-0x1000, K_DS

        call preset                     ; SIB without index: 67 66 8B 14 20
        db 0x67, 0x66, 0x8B, 0x14, 0x20
        CHECK32 "SIB base EAX, no index: load", edx, PAT32(R_EAX, K_DS)
        call preset                     ; ... with scale 2 (ignored)
        db 0x67, 0x66, 0x8B, 0x14, 0x60
        CHECK32 "SIB base EAX, no index, scale 2: load", edx, PAT32(R_EAX, K_DS)
        call preset                     ; SIB no base, no index: [disp32]
        db 0x67, 0x66, 0x8B, 0x14, 0x25
        dd 0x00004321
        CHECK32 "SIB no base no index: load", edx, PAT32(0x4321, K_DS)

        call preset                     ; ESP as base (SS); ESP parked at 9000
        mov edi, esp
        mov esp, 0x9000
        lea edx, [esp+0x10]
        mov ebx, [esp+0x10]
        mov ecx, [esp]
        mov ebp, [esp+eax*2+0x100]
        mov esi, [dword esp+0x1000]
        mov esp, edi
        CHECK32 "[esp+disp8]: LEA", edx, 0x9010
        CHECK32 "[esp+disp8] (SS): load", ebx, PAT32(0x9010, K_SS)
        CHECK32 "[esp] (SS): load", ecx, PAT32(0x9000, K_SS)
        CHECK32 "[esp+eax*2+disp32] (SS): load", ebp, PAT32(0x9000+R_EAX*2+0x100, K_SS)
        CHECK32 "[esp+disp32] (SS): load", esi, PAT32(0xA000, K_SS)
        END_GROUP
        ret

t_overrides:
        GROUP "segment-overrides"
        EAD "[es:eax]", edx, [es:eax], R_EAX, K_ES
        EAD "[fs:ebx+esi*2]", edx, [fs:ebx+esi*2], R_EBX+R_ESI*2, K_FS
        EAD "[gs:ecx+8]", edx, [gs:ecx+8], R_ECX+8, K_GS
        EAD "[ss:eax]", edx, [ss:eax], R_EAX, K_SS
        EAD "[ds:ebp]", edx, [ds:ebp], R_EBP, K_DS
        EAD "[fs:ebp+0x10]", edx, [fs:ebp+0x10], R_EBP+0x10, K_FS
        EAD "[gs:dword disp32]", edx, [gs:dword 0x00002222], 0x2222, K_GS
        call preset                     ; 16-bit addressing, 32-bit operand
        mov eax, [bx+si]
        CHECK32 "[bx+si] with a 32-bit operand", eax, PAT32((R_EBX+R_ESI) & 0xFFFF, K_DS)
        call preset
        mov ax, [fs:di+2]
        CHECK16 "[fs:di+2] (16-bit)", ax, PAT16(R_EDI+2, K_FS)
        END_GROUP
        ret

t_prefixes:
        GROUP "size-prefixes"
        mov ecx, 0x00010001             ; a32 LOOP counts ECX
        xor ebx, ebx
.l1:    inc ebx
        a32 loop .l1
        CHECK32 "a32 LOOP: iterations", ebx, 0x00010001
        CHECK32 "a32 LOOP: ECX", ecx, 0
        mov ecx, 0x00010001             ; a16 LOOP counts CX only
        xor ebx, ebx
.l2:    inc ebx
        a16 loop .l2
        CHECK32 "a16 LOOP: iterations", ebx, 1
        CHECK32 "a16 LOOP: ECX", ecx, 0x00010000
        mov ecx, 0x00010000
        xor bx, bx
        jecxz .j1
        inc bx
.j1:    jcxz .j2
        inc bx
        inc bx
.j2:    CHECK16 "JECXZ not taken, JCXZ taken", bx, 1
        mov esi, 0x00000100             ; a32 REP MOVSB uses ESI/EDI/ECX
        mov edi, 0x0000E100
        mov ecx, 4
        cld
        a32 rep movsb                   ; DS:100 -> ES:E100
        CHECK32 "a32 REP MOVSB: ESI", esi, 0x00000104
        CHECK32 "a32 REP MOVSB: EDI", edi, 0x0000E104
        CHECK32 "a32 REP MOVSB: ECX", ecx, 0
        mov eax, [es:0xE100]
        CHECK32 "a32 REP MOVSB: data", eax, PAT32(0x100, K_DS)
        mov esi, 0xABCD0200             ; a16 string ops use SI only
        a16 lodsw
        CHECK32 "a16 LODSW leaves ESI's upper half", esi, 0xABCD0202
        CHECK16 "a16 LODSW data", ax, PAT16(0x200, K_DS)
        mov eax, 0xFFFF0000
        mov ax, 0x1234
        db 0x66, 0x50                   ; PUSH EAX (operand-size prefix)
        pop ebx
        CHECK32 "o32 PUSH", ebx, 0xFFFF1234
        END_GROUP
        ret

t_movx:
        GROUP "movzx-movsx"
        mov bl, 0x80
        movsx eax, bl
        CHECK32 "MOVSX r32, r8 (80h)", eax, 0xFFFFFF80
        movzx eax, bl
        CHECK32 "MOVZX r32, r8 (80h)", eax, 0x00000080
        mov bx, 0x8001
        movsx eax, bx
        CHECK32 "MOVSX r32, r16", eax, 0xFFFF8001
        movzx eax, bx
        CHECK32 "MOVZX r32, r16", eax, 0x00008001
        mov ecx, 0xFFFFFFFF
        mov bl, 0x7F
        movsx cx, bl
        CHECK32 "MOVSX r16, r8 keeps the upper half", ecx, 0xFFFF007F
        mov esi, 0x00000401
        movzx eax, byte [esi]
        CHECK32 "MOVZX r32, m8", eax, PATB(0x401, K_DS)
        movsx edx, word [esi]
        %assign w PAT16(0x401, K_DS)
        %if w & 0x8000
        %assign w w | 0xFFFF0000
        %endif
        CHECK32 "MOVSX r32, m16", edx, w
        END_GROUP
        ret

t_bits:
        GROUP "bit-ops"
        mov dword [0xE800], 0
        mov dword [0xE804], 0
        mov word [0xE7FE], 0xFFFF
        mov eax, 35
        bts dword [0xE800], eax         ; bit 35: byte E804 bit 3
        setc bl
        bt dword [0xE800], eax
        setc bh
        mov cl, [0xE804]
        CHECK16 "BTS m32, 35: CF before / BT after", bx, 0x0100
        CHECK8 "BTS m32, 35 set byte E804 bit 3", cl, 0x08
        mov ax, 0xFFFF                  ; bit -1: word E7FE bit 15
        btr word [0xE800], ax
        setc bl
        mov cx, [0xE7FE]
        CHECK8 "BTR m16, -1: CF", bl, 1
        CHECK16 "BTR m16, -1 cleared E7FE bit 15", cx, 0x7FFF
        mov edx, 0x00000001
        btc edx, 33                     ; immediate taken modulo 32
        setc bl
        CHECK32 "BTC r32, 33", edx, 0x00000003
        CHECK8 "BTC r32, 33: CF", bl, 0
        mov ax, 0x0010
        mov cx, 20                      ; register operand: modulo 16
        bt ax, cx
        setc bl
        CHECK8 "BT r16, r16 (20 -> bit 4): CF", bl, 1
        mov eax, 0x00012000
        bsf ebx, eax
        pushf
        bsr ecx, eax
        pop dx
        and dx, F_ZF
        CHECK32 "BSF 00012000h", ebx, 13
        CHECK32 "BSR 00012000h", ecx, 16
        CHECK16 "BSF of non-zero: ZF", dx, 0
        xor eax, eax
        bsf ebx, eax
        pushf
        pop dx
        and dx, F_ZF
        CHECK16 "BSF of zero: ZF", dx, F_ZF
        mov ax, 0x8000
        bsr bx, ax
        CHECK16 "BSR r16 8000h", bx, 15
        END_GROUP
        ret

; SETCC_ROW flags - run SETcc 0..F on FLAGS = flags; bit cc of DX = result.
%macro SETCC_ROW 1
        xor edx, edx
%assign cc 0
%rep 16
        push word %1
        popf
        db 0x0F, 0x90+cc, 0xC0          ; SETcc AL
        and eax, 1
        shl eax, cc
        or edx, eax
%assign cc cc+1
%endrep
%assign of ((%1) >> 11) & 1
%assign sf ((%1) >> 7) & 1
%assign zf ((%1) >> 6) & 1
%assign pf ((%1) >> 2) & 1
%assign cf (%1) & 1
%assign lt sf ^ of
%assign exp of | ((1-of) << 1) | (cf << 2) | ((1-cf) << 3) | (zf << 4) | ((1-zf) << 5)
%assign exp exp | ((cf|zf) << 6) | ((1-(cf|zf)) << 7) | (sf << 8) | ((1-sf) << 9)
%assign exp exp | (pf << 10) | ((1-pf) << 11) | (lt << 12) | ((1-lt) << 13)
%assign exp exp | ((zf|lt) << 14) | ((1-(zf|lt)) << 15)
        CHECK16 %str(SETcc with FLAGS %1), dx, exp
%endmacro

t_setcc:
        GROUP "setcc"
        SETCC_ROW 0x0002
        SETCC_ROW 0x0803
        SETCC_ROW 0x00C6
        SETCC_ROW 0x0886
        SETCC_ROW 0x08D7
        END_GROUP
        ret

t_shld:
        GROUP "shld-shrd"
        mov ax, 0x1234
        mov bx, 0xABCD
        shld ax, bx, 4
        pushf
        pop dx
        and dx, F_CF
        CHECK16 "SHLD 1234h, ABCDh, 4", ax, 0x234A
        CHECK16 "SHLD 1234h, ABCDh, 4: CF", dx, F_CF
        mov eax, 0x12345678
        mov ebx, 0x9ABCDEF0
        shrd eax, ebx, 8
        pushf
        pop dx
        and dx, F_CF | F_SF | F_ZF
        CHECK32 "SHRD 12345678h, 9ABCDEF0h, 8", eax, 0xF0123456
        CHECK16 "SHRD ..., 8: CF SF ZF", dx, F_SF
        mov eax, 0x80000001
        mov ebx, 0x00000001
        mov cl, 33                      ; count modulo 32 -> 1
        shld eax, ebx, cl
        pushf
        pop dx
        and dx, F_CF | F_OF
        CHECK32 "SHLD 80000001h, 1, CL=33", eax, 0x00000002
        CHECK16 "SHLD ..., CL=33: CF OF", dx, F_CF | F_OF
        mov eax, 0x11111111
        mov cl, 32                      ; count 0: nothing changes
        stc
        shrd eax, ebx, cl
        pushf
        pop dx
        and dx, F_CF
        CHECK32 "SHRD with CL=32", eax, 0x11111111
        CHECK16 "SHRD with CL=32 keeps CF", dx, F_CF
        END_GROUP
        ret

; ------------------------------------------------------------------- 486

t_486:
        IF_CLASS_AT_LEAST CLASS_486, .is486
        GROUP "486-on-386"
        ARM .r1
.u1:    db 0x0F, 0xC8                   ; BSWAP EAX
.r1:    CHECK_EXC "BSWAP is #UD on a 386", 6, .u1
        ARM .r2
.u2:    db 0x0F, 0xC1, 0xD8             ; XADD EAX, EBX
.r2:    CHECK_EXC "XADD is #UD on a 386", 6, .u2
        ARM .r3
.u3:    db 0x0F, 0xB1, 0xCB             ; CMPXCHG EBX, ECX
.r3:    CHECK_EXC "CMPXCHG is #UD on a 386", 6, .u3
        END_GROUP
        ret
.is486: cpu 586                         ; NASM files CMPXCHG under the Pentium
        GROUP "486-instructions"
        mov eax, 0x12345678
        bswap eax
        CHECK32 "BSWAP EAX", eax, 0x78563412
        mov edi, 0x0000FF01
        bswap edi
        CHECK32 "BSWAP EDI", edi, 0x01FF0000
        mov eax, 0x7FFFFFFF
        mov ebx, 1
        xadd eax, ebx
        pushf
        pop dx
        and dx, F_OF | F_SF | F_ZF | F_CF
        CHECK32 "XADD: destination", eax, 0x80000000
        CHECK32 "XADD: source gets the old destination", ebx, 0x7FFFFFFF
        CHECK16 "XADD: FLAGS", dx, F_OF | F_SF
        mov byte [0xE900], 0xF0
        mov cl, 0x20
        xadd [0xE900], cl
        pushf
        pop dx
        and dx, F_CF | F_ZF
        mov al, [0xE900]
        CHECK8 "XADD m8: memory", al, 0x10
        CHECK8 "XADD m8: register", cl, 0xF0
        CHECK16 "XADD m8: CF ZF", dx, F_CF
        mov eax, 5
        mov ebx, 5
        mov ecx, 9
        cmpxchg ebx, ecx
        pushf
        pop dx
        and dx, F_ZF
        CHECK32 "CMPXCHG equal: destination", ebx, 9
        CHECK32 "CMPXCHG equal: EAX", eax, 5
        CHECK16 "CMPXCHG equal: ZF", dx, F_ZF
        mov eax, 6
        cmpxchg ebx, ecx
        pushf
        pop dx
        and dx, F_ZF | F_CF
        CHECK32 "CMPXCHG not equal: EAX gets the destination", eax, 9
        CHECK32 "CMPXCHG not equal: destination", ebx, 9
        CHECK16 "CMPXCHG not equal: ZF CF (6 - 9)", dx, F_CF
        mov word [0xE902], 0x1234
        mov ax, 0x1234
        mov bx, 0xBEEF
        cmpxchg [0xE902], bx
        mov cx, [0xE902]
        CHECK16 "CMPXCHG m16 equal", cx, 0xBEEF
        END_GROUP
        cpu 386
        ret

; ----------------------------------------------------------------- limits

t_limits:
        GROUP "limit-64k"
%ifdef NO_REAL_MODE_LIMITS
        PRINT `note: limit-64k skipped (NO_REAL_MODE_LIMITS build)\n`
%else
        ARM .r1
        mov esi, 0x00010000
.f1:    mov eax, [esi]                  ; DS:10000
.r1:    CHECK_EXC "[esi] with ESI=10000h", 13, .f1
        ARM .r2
        mov ebp, 0x00010000
.f2:    mov eax, [ebp]                  ; SS:10000
.r2:    CHECK_EXC "[ebp] with EBP=10000h (SS)", 12, .f2
        ARM .r3
        mov ebx, 0x0000FFFE
.f3:    mov eax, [ebx]                  ; dword FFFE-10001
.r3:    CHECK_EXC "dword at DS:FFFE", 13, .f3
        ARM .r4
        mov ebx, 0xFFFFFFF0
.f4:    mov al, [ebx+0x20]              ; wraps to 10 at 4 GiB: fine
        mov ebx, 0x0000FFFF
        mov al, [ebx]                   ; last byte: fine
        mov ebx, 0x0000FFFC
        mov eax, [ebx]                  ; last dword: fine
.r4:    CHECK_NOEXC "byte at FFFFh, dword at FFFCh, EA wrapping at 4 GiB"
        ARM .r5
        mov eax, 0x00008000
.f5:    mov dx, [gs:eax*2]              ; GS:10000
.r5:    CHECK_EXC "[gs:eax*2] = 10000h", 13, .f5
%endif
        END_GROUP
        ret

        ROM_END
