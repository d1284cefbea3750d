; debugreg.asm - the debug registers DR0-DR7 on the 386 and later (SDM vol. 3
; ch. 17): MOV DRn (privilege, DR4/DR5 aliases and CR4.DE, reserved bits,
; general detect), instruction breakpoints (a fault, RF and its rules: set in
; the image of other faults, restored by IRETD, cleared by POPF and after an
; instruction), data breakpoints (write and read/write, lengths 1/2/4 with
; aligned ranges, overlapping accesses of any size, several at once, stack
; pushes, REP STOS trapping after the iteration that hit), I/O breakpoints
; (CR4.DE, Pentium and later), the single-step trap together with a data
; breakpoint, the T bit of a TSS (DR6.BT) and the local enables cleared by a
; task switch. DR6 is sticky: the processor never clears it.
;
; Build flags for validating on emulators that deviate (README.md):
; NO_DR_RESERVED (QEMU: bit 12 of DR6 and DR7 writable on every model;
; Bochs: DR7 bit 11 reads as 1), NO_GD_RF (Bochs: the general-detect fault
; pushes RF = 0), NO_REP_RF (QEMU, Bochs: a trap after a REP iteration that
; is not the last pushes RF = 0), and for QEMU only: NO_GD (no general
; detect), NO_FAULT_RF (faults push RF = 0), NO_EXEC_BP (an instruction
; breakpoint crashes QEMU 7.2), NO_LEN_ALIGN (the low address bits are not
; masked by LEN), NO_MULTI_HIT (one B bit per #DB), NO_REP_TRAP (a hit in
; the last REP iteration is reported at the instruction; REP OUTSB traps
; after the whole instruction), NO_DATA_TF (a data breakpoint and a single
; step on one instruction are two #DBs), NO_TASK_T (no T-bit trap).

%define ROM_NAME "debugreg"
%include "common.inc"
%include "pm.inc"
cpu 686

SEL_TSSA        equ 0x40                ; a 32-bit task with the T bit

gdt_extra:
        DESC SPARE_TSS, 0x67, ACC_TSS32, 0
gdt_extra_end:

TSSA            equ SPARE_TSS
WATCH           equ 0x9000              ; watched data (free RAM)
CODE_LIN        equ 0xF0000             ; linear base of the code segments

; DR7 fields
L0              equ 1
G0              equ 2
L1              equ 4
G1              equ 8
L2              equ 0x10
L3              equ 0x40
%define RW(n, v) ((v) << (16 + 4*(n)))
%define LEN(n, v) ((v) << (18 + 4*(n)))
RW_X            equ 0
RW_W            equ 1
RW_IO           equ 2
RW_RW           equ 3
LEN_1           equ 0
LEN_2           equ 1
LEN_4           equ 3

DR6_BD          equ 0x2000
DR6_BS          equ 0x4000
DR6_BT          equ 0x8000
CR4_DE          equ 8

absolute ROM_VARS
db_count:       resd 1                  ; #DBs seen by db_resume_rf
dr6_seen:       resd 1
task_runs:      resd 1
task_dr7:       resd 1
section .text

; SET_DR n, value - write a debug register (through EAX).
%macro SET_DR 2
        mov eax, %2
        mov dr%1, eax
%endmacro

; DR_OFF - disarm every breakpoint and clear DR6.
%macro DR_OFF 0
        xor eax, eax
        mov dr7, eax
        mov dr6, eax
%endmacro

main:
        jmp pm_start

bits 32
main32:
        DR_OFF
        call t_access
%ifndef NO_GD
        call t_gd
%endif
%ifndef NO_EXEC_BP
        call t_exec
        call t_rf
%endif
        call t_fault_rf
        call t_data
        call t_data_len
        call t_data_multi
        call t_rep
        call t_tf_data
        call t_io
        call t_task
        DR_OFF
        jmp pm_finish

; ------------------------------------------------------------ MOV DRn

t_access:
        PGROUP "dr-access"
        SET_DR 0, 0x12345678
        SET_DR 1, 0x9ABCDEF0
        SET_DR 2, 0x00FF00FF
        SET_DR 3, 0xFFFFFFFF
        mov eax, dr0
        CHECK32 "DR0", eax, 0x12345678
        mov eax, dr1
        CHECK32 "DR1", eax, 0x9ABCDEF0
        mov eax, dr2
        CHECK32 "DR2", eax, 0x00FF00FF
        mov eax, dr3
        CHECK32 "DR3", eax, 0xFFFFFFFF
        SET_DR 6, 0
        mov eax, dr6
        CHECK32 "DR6 written 0: reserved bits read as 1", eax, 0xFFFF0FF0
        SET_DR 6, 0xF
        mov eax, dr6
        CHECK32 "DR6 B0-B3 writable", eax, 0xFFFF0FFF
        SET_DR 7, 0
        mov eax, dr7
        CHECK32 "DR7 written 0: bit 10 reads as 1", eax, 0x400
%ifndef NO_DR_RESERVED
        SET_DR 6, 0x1000
        mov eax, dr6
        PIF_CLASS_AT_LEAST CLASS_586, .p5a
        CHECK32 "DR6 bit 12 writable (386/486)", eax, 0xFFFF1FF0
        jmp .p5b
.p5a:   CHECK32 "DR6 bit 12 reads as 0 (Pentium+)", eax, 0xFFFF0FF0
.p5b:   SET_DR 7, 0xD800
        mov eax, dr7
        PIF_CLASS_AT_LEAST CLASS_586, .p5c
        CHECK32 "DR7 bits 11, 14, 15 read as 0, 12 writable (386/486)", eax, 0x1400
        jmp .p5d
.p5c:   CHECK32 "DR7 bits 11, 12, 14, 15 read as 0 (Pentium+)", eax, 0x400
.p5d:
%endif
        ; DR4 and DR5 are DR6 and DR7 while CR4.DE is clear
        SET_DR 6, 0
        SET_DR 7, 0
        SET_DR 5, 0x00000300            ; LE, GE: no breakpoint enabled
        mov eax, dr7
        CHECK32 "MOV DR5 writes DR7", eax, 0x700
        mov eax, dr5
        CHECK32 "MOV from DR5 reads DR7", eax, 0x700
        SET_DR 4, 0x2
        mov eax, dr6
        CHECK32 "MOV DR4 writes DR6", eax, 0xFFFF0FF2
        mov eax, dr4
        CHECK32 "MOV from DR4 reads DR6", eax, 0xFFFF0FF2
        DR_OFF
        ; CR4.DE: DR4 and DR5 are #UD
        PIF_CLASS_BELOW CLASS_586, .nde
        mov eax, cr4
        or eax, CR4_DE
        mov cr4, eax
        ARM32 .u
.u0:    mov eax, dr4
.u:     CHECK_EXC32 "MOV from DR4 with CR4.DE", 6, NO_ERR, .u0
        ARM32 .v
.v0:    mov dr5, eax
.v:     CHECK_EXC32 "MOV to DR5 with CR4.DE", 6, NO_ERR, .v0
        mov eax, cr4
        and eax, ~CR4_DE
        mov cr4, eax
.nde:
        ; CPL 3: #GP(0)
        ARM32 .g
        ENTER_RING3
.g0:    mov eax, dr7
.g:     CHECK_EXC32 "MOV from DR7 at CPL 3", 13, 0, .g0
        ARM32 .h
        ENTER_RING3
.h0:    mov dr0, eax
.h:     CHECK_EXC32 "MOV to DR0 at CPL 3", 13, 0, .h0
        PEND
        ret

; General detect: a MOV DRn with DR7.GD set is a #DB fault (DR6.BD), and GD
; is clear in the handler.
t_gd:
        PGROUP "dr-gd"
        DR_OFF
        SET_DR 7, 0x2000
        ARM32 .a
.a0:    mov eax, dr0
.a:     CHECK_EXC32 "MOV DR0 with DR7.GD: #DB fault", 1, NO_ERR, .a0
        mov eax, dr6
        CHECK32M "DR6.BD", eax, DR6_BD | DR6_BS | DR6_BT | 0xF, DR6_BD
        mov eax, dr7
        CHECK32 "GD cleared", eax, 0x400
%ifndef NO_GD_RF
        CHECK32M "RF pushed by the fault", [pm_exc_efl], EF_RF, EF_RF
%endif
        DR_OFF
        PEND
        ret

; ------------------------------------------------------ instruction breakpoints

t_exec:
        PGROUP "dr-exec"
        SET_DR 0, CODE_LIN + .x0
        SET_DR 7, L0 | RW(0, RW_X) | LEN(0, LEN_1)
        ARM32 .x
        nop
.x0:    nop
.x:     CHECK_EXC32 "instruction breakpoint: fault at the instruction", 1, NO_ERR, .x0
        mov eax, dr6
        CHECK32M "DR6.B0", eax, 0xF | DR6_BS, 1
        CHECK32M "pushed RF is 0", [pm_exc_efl], EF_RF, 0
        DR_OFF
        ; G alone enables it too, in breakpoint register 3
        SET_DR 3, CODE_LIN + .y0
        SET_DR 7, G0 << 6
        ARM32 .y
.y0:    inc eax
.y:     CHECK_EXC32 "G3", 1, NO_ERR, .y0
        mov eax, dr6
        CHECK32M "DR6.B3", eax, 0xF, 8
        DR_OFF
        ; disabled: no exception
        SET_DR 1, CODE_LIN + .z0
        SET_DR 7, RW(1, RW_X)
        ARM32 0
.z0:    nop
        CHECK_NOEXC32 "L1 = G1 = 0: disabled"
        ; the address must be the instruction's first byte
        SET_DR 1, CODE_LIN + .w0 + 1
        SET_DR 7, L1
        ARM32 0
.w0:    mov eax, 0x90909090
        CHECK_NOEXC32 "breakpoint inside an instruction"
        DR_OFF
        PEND
        ret

; db_resume_rf: a #DB handler that counts, records DR6, sets RF in the image
; and returns to the instruction.
db_resume_rf:
        push eax
        push ds
        mov eax, SEL_DATA
        mov ds, eax
        inc dword [db_count]
        mov eax, dr6
        mov [dr6_seen], eax
        or dword [esp + 16], EF_RF
        pop ds
        pop eax
        iretd

t_rf:
        PGROUP "dr-rf"
        DR_OFF
        SET_GATE 1, db_resume_rf, SEL_CODE32, ACC_INT32
        mov dword [db_count], 0
        SET_DR 0, CODE_LIN + .l0
        SET_DR 7, L0
        mov ecx, 3
.l0:    dec ecx                         ; breakpoint: #DB, RF, then it runs
        jnz .l0
        CHECK32 "RF from IRETD: one #DB per execution", [db_count], 3
        CHECK32 "the instruction ran each time", ecx, 0
        SET_GATE 1, pm_stub_1, SEL_CODE32, ACC_INT32
        ; POPF cannot set RF
        SET_DR 0, CODE_LIN + .q0
        ARM32 .q
        pushfd
        or dword [esp], EF_RF
        popfd
.q0:    nop
.q:     CHECK_EXC32 "POPF leaves RF clear", 1, NO_ERR, .q0
        DR_OFF
        PEND
        ret

; Every fault but an instruction breakpoint pushes RF = 1; traps and INT n
; push the RF they find (0).
t_fault_rf:
        PGROUP "dr-fault-rf"
%ifndef NO_FAULT_RF
        ARM32 .a
.a0:    ud2
.a:     CHECK_EXC32 "#UD", 6, NO_ERR, .a0
        CHECK32M "#UD pushes RF = 1", [pm_exc_efl], EF_RF, EF_RF
        ARM32 .b
        mov ebx, SEL_CODE32
.b0:    mov ss, bx                      ; a code segment as SS
.b:     CHECK_EXC32 "#GP", 13, SEL_CODE32, .b0
        CHECK32M "#GP pushes RF = 1", [pm_exc_efl], EF_RF, EF_RF
%endif
        ARM32 .c
        int3
.c:     CHECK_EXC32 "INT3", 3, NO_ERR, .c
        CHECK32M "INT3 pushes RF = 0", [pm_exc_efl], EF_RF, 0
        PEND
        ret

; ---------------------------------------------------------- data breakpoints

t_data:
        PGROUP "dr-data"
        DR_OFF
        mov dword [WATCH], 0
        SET_DR 1, WATCH
        SET_DR 7, L1 | RW(1, RW_W) | LEN(1, LEN_4)
        ARM32 .a
        mov al, 0x5A
.a0:    mov [WATCH + 2], al
.a:     CHECK_EXC32 "byte write in a dword breakpoint: trap after", 1, NO_ERR, .a
        CHECK32 "the write was done", [WATCH], 0x005A0000
        mov eax, dr6
        CHECK32M "DR6.B1", eax, 0xF | DR6_BS, 2
        ; reads do not match a write breakpoint
        ARM32 0
        mov eax, [WATCH]
        CHECK_NOEXC32 "read, R/W = 01"
        ; a word straddling into the range from below matches
        SET_DR 6, 0
        ARM32 .b
        mov word [WATCH - 1], 0x1111
.b:     CHECK_EXC32 "word at WATCH-1", 1, NO_ERR, .b
        ; accesses next to the range do not
        ARM32 0
        mov dword [WATCH - 4], 0
        mov byte [WATCH + 4], 0
        CHECK_NOEXC32 "outside the dword"
        ; read/write breakpoint: reads match, and read-modify-write
        SET_DR 7, L1 | RW(1, RW_RW) | LEN(1, LEN_4)
        ARM32 .c
        mov eax, [WATCH + 3]
.c:     CHECK_EXC32 "read, R/W = 11", 1, NO_ERR, .c
        ARM32 .d
        add dword [WATCH], 1
.d:     CHECK_EXC32 "ADD to memory, R/W = 11 (one #DB)", 1, NO_ERR, .d
        ; a push onto a watched stack slot
        SET_DR 1, WATCH + 0x100 - 4
        ARM32 .e
        mov esp, WATCH + 0x100
        push eax
.e:     CHECK_EXC32 "PUSH", 1, NO_ERR, .e
        DR_OFF
        PEND
        ret

t_data_len:
        PGROUP "dr-data-len"
%ifndef NO_LEN_ALIGN
        ; LEN 2 at an odd address covers the aligned word
        SET_DR 2, WATCH + 0x11
        SET_DR 7, L2 | RW(2, RW_W) | LEN(2, LEN_2)
        ARM32 .a
        mov byte [WATCH + 0x10], 1
.a:     CHECK_EXC32 "LEN 2: aligned down", 1, NO_ERR, .a
        mov eax, dr6
        CHECK32M "DR6.B2", eax, 0xF, 4
        ARM32 0
        mov byte [WATCH + 0x12], 1
        mov byte [WATCH + 0x0F], 1
        CHECK_NOEXC32 "LEN 2: next bytes"
%endif
        ; LEN 1: that byte only
        SET_DR 2, WATCH + 0x21
        SET_DR 7, L2 | RW(2, RW_W) | LEN(2, LEN_1)
        ARM32 0
        mov byte [WATCH + 0x20], 1
        mov byte [WATCH + 0x22], 1
        CHECK_NOEXC32 "LEN 1: next bytes"
        ARM32 .b
        mov dword [WATCH + 0x20], 1
.b:     CHECK_EXC32 "LEN 1: a dword over it", 1, NO_ERR, .b
%ifndef NO_LEN_ALIGN
        ; LEN 4 at an unaligned address covers the aligned dword
        SET_DR 2, WATCH + 0x33
        SET_DR 7, L2 | RW(2, RW_W) | LEN(2, LEN_4)
        ARM32 .c
        mov byte [WATCH + 0x30], 1
.c:     CHECK_EXC32 "LEN 4: aligned down", 1, NO_ERR, .c
%endif
        DR_OFF
        PEND
        ret

; Several breakpoints matching one instruction are reported together; the
; processor never clears DR6 bits other than B0-B3 (SDM 17.2.3: a #DB may
; clear those; Glassbox keeps them, which is not checked).
t_data_multi:
        PGROUP "dr-data-multi"
        DR_OFF
        SET_DR 0, WATCH + 0x40
        SET_DR 3, WATCH + 0x42
        SET_DR 7, L0 | RW(0, RW_W) | LEN(0, LEN_1) | L3 | RW(3, RW_RW) | LEN(3, LEN_2)
        ARM32 .a
        mov dword [WATCH + 0x40], 0
.a:     CHECK_EXC32 "two breakpoints, one write", 1, NO_ERR, .a
%ifndef NO_MULTI_HIT
        mov eax, dr6
        CHECK32M "DR6.B0 and B3", eax, 0xF, 9
%endif
        SET_DR 6, 0
        ARM32 .b
        mov eax, [WATCH + 0x40]
.b:     CHECK_EXC32 "read matches B3 only", 1, NO_ERR, .b
        mov eax, dr6
        CHECK32M "DR6.B3", eax, 0xF, 8
        SET_DR 6, DR6_BS                ; set by software
%ifndef NO_EXEC_BP
        SET_DR 1, CODE_LIN + .c0
        SET_DR 7, L1 | L0 | RW(0, RW_W) | LEN(0, LEN_1)
        ARM32 .c
.c0:    nop
.c:     CHECK_EXC32 "instruction breakpoint", 1, NO_ERR, .c0
%else
        SET_DR 7, L0 | RW(0, RW_W) | LEN(0, LEN_1)
%endif
        ARM32 .d
        mov byte [WATCH + 0x40], 0
.d:     CHECK_EXC32 "then a data breakpoint", 1, NO_ERR, .d
        mov eax, dr6
        CHECK32M "DR6.B0 set, BS kept", eax, DR6_BS | 1, DR6_BS | 1
        DR_OFF
        PEND
        ret

; REP STOSB traps after the iteration that wrote the watched byte: EIP on
; the instruction, ECX and EDI for the rest, RF = 1 pushed so it resumes.
t_rep:
        PGROUP "dr-rep"
        DR_OFF
        SET_DR 0, WATCH + 0x58
        SET_DR 7, L0 | RW(0, RW_W) | LEN(0, LEN_1)
        ARM32 .a
        cld
        mov edi, WATCH + 0x50
        mov ecx, 16
        xor eax, eax
.a0:    rep stosb
.a:     CHECK_EXC32 "REP STOSB: trap at the instruction", 1, NO_ERR, .a0
        CHECK32 "ECX after the iteration", ecx, 7
        CHECK32 "EDI after the iteration", edi, WATCH + 0x59
%ifndef NO_REP_RF
        CHECK32M "pushed RF = 1 (not the last iteration)", [pm_exc_efl], EF_RF, EF_RF
%endif
        ; resumed through IRETD it finishes without another #DB
        ARM32 0
        mov edi, WATCH + 0x50
        mov ecx, 16
        rep stosb
        CHECK32 "REP STOSB resumed: ECX", ecx, 0
        CHECK32 "one #DB", [pm_exc_count], 1
        mov byte [pm_armed], 0
%ifndef NO_REP_TRAP
        ; a hit in the last iteration traps after the instruction
        ARM32 .b
        mov edi, WATCH + 0x50
        mov ecx, 9
        rep stosb
.b:     CHECK_EXC32 "REP STOSB, last iteration: trap after", 1, NO_ERR, .b
        CHECK32M "pushed RF = 0", [pm_exc_efl], EF_RF, 0
%endif
        DR_OFF
        PEND
        ret

; TF and a data breakpoint on one instruction: one #DB with BS and Bn.
t_tf_data:
        PGROUP "dr-tf-data"
%ifndef NO_DATA_TF
        DR_OFF
        SET_DR 0, WATCH
        SET_DR 7, L0 | RW(0, RW_W) | LEN(0, LEN_4)
        ARM32 .a
        pushfd
        or dword [esp], EF_TF
        popfd
        mov [WATCH], eax
.a:     CHECK_EXC32 "one #DB", 1, NO_ERR, .a
        mov eax, dr6
        CHECK32M "DR6.BS and B0", eax, 0xF | DR6_BS, DR6_BS | 1
        DR_OFF
%endif
        PEND
        ret

; ----------------------------------------------------------- I/O breakpoints

t_io:
        PIF_CLASS_AT_LEAST CLASS_586, .go
        PPRINT `note: no I/O breakpoints before the Pentium (no CR4.DE)\n`
        ret
.go:    PGROUP "dr-io"
        DR_OFF
        mov eax, cr4
        or eax, CR4_DE
        mov cr4, eax
        SET_DR 2, 0x80
        SET_DR 7, L2 | RW(2, RW_IO) | LEN(2, LEN_4)
        ARM32 .a
        out 0x80, al
.a:     CHECK_EXC32 "OUT 80h: trap after", 1, NO_ERR, .a
        mov eax, dr6
        CHECK32M "DR6.B2", eax, 0xF, 4
        ARM32 .b
        mov dx, 0x82
        in ax, dx
.b:     CHECK_EXC32 "IN AX, 82h (in the range)", 1, NO_ERR, .b
        ARM32 .c
        mov dx, 0x7F
        in ax, dx                       ; 7Fh-80h
.c:     CHECK_EXC32 "IN AX, 7Fh (overlaps)", 1, NO_ERR, .c
        ARM32 0
        in al, 0x84
        in al, 0x7F
        CHECK_NOEXC32 "ports next to the range"
        ; memory at the same address is not an I/O access
        ARM32 0
        mov byte [0x80], 0
        CHECK_NOEXC32 "memory write at 80h"
%ifndef NO_REP_TRAP
        ; REP OUTSB traps after each iteration
        ARM32 .d
        mov esi, WATCH
        mov ecx, 3
        mov dx, 0x80
.d0:    rep outsb
.d:     CHECK_EXC32 "REP OUTSB: trap after the first iteration", 1, NO_ERR, .d0
        CHECK32 "ECX", ecx, 2
%endif
        ; with CR4.DE clear, R/W = 10 is undefined: not tested
        DR_OFF
        mov eax, cr4
        and eax, ~CR4_DE
        mov cr4, eax
        PEND
        ret

; ----------------------------------------------------------------- tasks

; The task records DR7 and returns with IRETD (NT).
task_a:
        inc dword [task_runs]
        mov eax, dr7
        mov [task_dr7], eax
        iretd
        jmp task_a

t_task:
        PGROUP "dr-task"
        DR_OFF
        mov edi, TSSA
        mov ecx, 0x68 / 4
        xor eax, eax
        rep stosd
        mov dword [TSSA + 0x20], task_a
        mov dword [TSSA + 0x24], 2
        mov dword [TSSA + 0x38], 0x8800
        mov dword [TSSA + 0x4C], SEL_CODE32
        mov eax, SEL_DATA
        mov [TSSA + 0x48], eax
        mov [TSSA + 0x50], eax
        mov [TSSA + 0x54], eax
        mov [TSSA + 0x58], eax
        mov [TSSA + 0x5C], eax
        mov word [TSSA + 0x66], 0x68    ; no I/O bitmap
        mov dword [task_runs], 0
        ; local enables are cleared by the switch, global ones kept
        SET_DR 0, 0xFFFFFFF0            ; never executed
        SET_DR 1, 0xFFFFFFF0
        SET_DR 7, L0 | G1
        ARM32 0
        call SEL_TSSA:0
        CHECK_NOEXC32 "CALL to the task"
        CHECK32 "task ran", [task_runs], 1
        CHECK32 "DR7 in the task: L0 cleared, G1 kept", [task_dr7], 0x400 | G1
        mov eax, dr7
        CHECK32 "DR7 after", eax, 0x400 | G1
%ifndef NO_TASK_T
        ; the T bit: a #DB trap in the new task before its first instruction
        DR_OFF
        mov word [TSSA + 0x64], 1
        mov dword [TSSA + 0x20], task_a
        ARM32 0
        call SEL_TSSA:0
        CHECK_EXC32 "T bit: #DB in the new task", 1, NO_ERR, task_a
        CHECK32 "task ran", [task_runs], 2
        mov eax, dr6
        CHECK32M "DR6.BT", eax, 0xF | DR6_BS | DR6_BT, DR6_BT
        mov word [TSSA + 0x64], 0
%endif
        DR_OFF
        PEND
        ret

bits 16
        ROM_END
