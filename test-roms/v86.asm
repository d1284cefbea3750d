; v86.asm - virtual-8086 mode on the 386 and later, with a small monitor
; (the #GP handler) that reflects INT n through the real-mode IVT, emulates
; IRET and skips the other IOPL-sensitive instructions, logging each one:
; entry through IRET and the V86 frame pushed on an interrupt (ES DS FS GS),
; INT n with IOPL < 3 (#GP, reflected) and = 3 (through the IDT), CLI STI
; PUSHF POPF IRET sensitivity, IN/OUT through the I/O permission bitmap
; whatever IOPL; on the Pentium and later CR4.VME (the interrupt
; redirection bitmap, VIF with CLI/STI/PUSHF, VIP) and CR4.PVI at CPL 3.
;
; Build flag NO_VME skips the VME and PVI groups (QEMU's TCG does not
; implement them; they were validated on Bochs, README.md).

%define ROM_NAME "v86"
%include "common.inc"
%include "pm.inc"
cpu 686

VEC_V86EXIT     equ 0x3D            ; V86 code leaves with INT 3Dh
V86_SS          equ 0x0800
V86_SP          equ 0x1000
MARK            equ 0x9F00          ; the real-mode handler counts here

gdt_extra:
gdt_extra_end:

absolute ROM_VARS
v86_cont:       resd 1
v86_esp:        resd 1
v86_eax:        resd 1
v86_efl:        resd 1              ; V86 EFLAGS when it left
mon_n:          resd 1              ; #GPs taken by the monitor
mon_log:        resb 16             ; their first opcode bytes
mon_err:        resd 1
section .text

main:
        mov word [0x60*4], v86_int60
        mov word [0x60*4 + 2], ROM_SEG
        jmp pm_start

bits 32
main32:
        SET_GATE 13, v86_monitor, SEL_CODE32, ACC_INT32
        SET_GATE VEC_V86EXIT, v86_exit, SEL_CODE32, ACC_INT32 | DPL3
        SET_GATE 0x3E, pm_stub_62, SEL_CODE32, ACC_INT32 | DPL3
        mov edi, TSS_IRB                ; no vector redirected
.irb:   mov byte [edi], 0xFF
        inc edi
        cmp edi, TSS_IOPB
        jb .irb
        call t_frame
        call t_reflect
        call t_iopl0
        call t_iopl3
        call t_io
        call t_vme
        call t_pvi
        jmp pm_finish

; RUN_V86 entry, eflags - run V86 code at F000:entry (DS=0, ES=1111h,
; FS=3333h, GS=4444h, SS:SP=0800:1000) until it leaves with INT 3Dh;
; continue after the macro with the monitor's log.
%macro RUN_V86 2
        mov dword [mon_n], 0
        mov dword [mon_log], 0
        mov dword [mon_log+4], 0
        mov dword [v86_cont], %%back
        mov [v86_esp], esp
        push dword 0x4444
        push dword 0x3333
        push dword 0
        push dword 0x1111
        push dword V86_SS
        push dword V86_SP
        push dword (%2) | EF_VM
        push dword ROM_SEG
        push dword %1
        iretd
%%back:
%endmacro

; v86_exit: INT 3Dh from V86 mode (through the IDT or the monitor).
v86_exit:
        push ds
        push eax
        mov eax, SEL_DATA
        mov ds, eax
        pop dword [v86_eax]
        pop eax
        mov eax, [esp + 8]
        mov [v86_efl], eax
v86_leave:
        mov eax, SEL_DATA
        mov es, eax
        mov fs, eax
        mov gs, eax
        mov ss, eax
        mov esp, [v86_esp]
        mov eax, [v86_eax]
        jmp dword [v86_cont]

; The monitor: #GP from V86 mode.  Frame (EBP): error, EIP, CS, EFLAGS,
; ESP, SS, ES, DS, FS, GS.
v86_monitor:
        test dword [esp + 12], EF_VM
        jz pm_stub_13                   ; not from V86: the usual capture
        push ds
        pushad
        mov eax, SEL_DATA
        mov ds, eax
        lea ebp, [esp + 36]
        mov eax, [ebp]
        mov [mon_err], eax
        movzx esi, word [ebp + 8]       ; linear CS:IP
        shl esi, 4
        movzx eax, word [ebp + 4]
        add esi, eax
        mov al, [esi]
        mov ebx, [mon_n]
        and ebx, 15
        mov [mon_log + ebx], al
        inc dword [mon_n]
        cmp al, 0xCD
        je .int
        cmp al, 0xCF
        je .iret
        mov ecx, 1                      ; skip it
        cmp al, 0xE4
        jb .skip
        cmp al, 0xE7
        ja .skip
        inc ecx                         ; IN/OUT with an immediate port
.skip:  add [ebp + 4], cx
.ret:   popad
        pop ds
        add esp, 4
        iretd
.int:   movzx ebx, byte [esi + 1]
        cmp bl, VEC_V86EXIT
        jne .reflect
        mov eax, [ebp + 12]
        mov [v86_efl], eax
        mov eax, [esp + 28]             ; the V86 code's EAX (PUSHAD)
        mov [v86_eax], eax
        popad                           ; its other registers
        add esp, 4                      ; DS stays SEL_DATA
        jmp v86_leave
.reflect:                               ; push FLAGS, CS, IP; IVT -> CS:IP
        movzx edi, word [ebp + 20]
        shl edi, 4
        movzx ecx, word [ebp + 16]
        sub cx, 6
        mov [ebp + 16], cx
        add edi, ecx
        mov ax, [ebp + 12]
        mov [edi + 4], ax
        mov ax, [ebp + 8]
        mov [edi + 2], ax
        mov ax, [ebp + 4]
        add ax, 2
        mov [edi], ax
        mov eax, [ebx*4]
        movzx ecx, ax
        mov [ebp + 4], ecx
        shr eax, 16
        mov [ebp + 8], eax
        and dword [ebp + 12], ~(EF_IF | EF_TF)
        jmp .ret
.iret:  movzx edi, word [ebp + 20]      ; pop IP, CS, FLAGS (IOPL kept)
        shl edi, 4
        movzx ecx, word [ebp + 16]
        add edi, ecx
        movzx eax, word [edi]
        mov [ebp + 4], eax
        movzx eax, word [edi + 2]
        mov [ebp + 8], eax
        movzx eax, word [edi + 4]
        and eax, ~0x3000
        mov ecx, [ebp + 12]
        and ecx, 0xFFFF0000 | 0x3000
        or eax, ecx
        mov [ebp + 12], eax
        add word [ebp + 16], 6
        jmp .ret

; ------------------------------------------------------------- V86 code

bits 16
v86_int60:
        inc word [MARK]
        iret

v86_frame:
        mov si, cs
        mov bx, ss
        mov cx, sp
        int 0x3E
.after: int VEC_V86EXIT

v86_reflect:
        mov word [MARK], 0
        int 0x60
        mov ax, [MARK]
        int VEC_V86EXIT

v86_sensitive:
        cli
        sti
        pushf
        popf
        mov bx, sp
        int VEC_V86EXIT

v86_iopl3:
        sti
        cli
        pushf
        pop ax
        mov word [MARK], 0
        int 0x60                        ; through the IDT: DPL 0 gate
        int VEC_V86EXIT

v86_io:
        out 0x80, al
        in al, 0x81                     ; denied
        mov dx, 0x87
        out dx, ax                      ; 88h denied
        in al, 0x80
        int VEC_V86EXIT

v86_vme:
        mov word [MARK], 0
        int 0x60                        ; redirected: no monitor
        sti
        pushf
        pop ax
        cli
        pushf
        pop bx
        mov cx, [MARK]
        int VEC_V86EXIT

v86_vip:
        sti
        int VEC_V86EXIT
bits 32

; ------------------------------------------------------------- checks

t_frame:
        PGROUP "v86-frame"
        ARM32 .r
        RUN_V86 v86_frame, EF_IOPL3 | 2
.r:     CHECK_EXC32 "INT 3Eh from V86 through a DPL-3 gate", 0x3E, NO_ERR, v86_frame.after
        CHECK32 "V86 CS", [pm_exc_cs], ROM_SEG
        CHECK32M "pushed EFLAGS: VM, IOPL 3", [pm_exc_efl], EF_VM | 0x3000, EF_VM | 0x3000
        CHECK32M "pushed ESP", [pm_exc_esp], 0xFFFF, V86_SP
        CHECK32M "pushed SS", [pm_exc_ss], 0xFFFF, V86_SS
        CHECK32M "pushed ES", [pm_exc_vseg], 0xFFFF, 0x1111
        CHECK32M "pushed DS", [pm_exc_vseg + 4], 0xFFFF, 0
        CHECK32M "pushed FS", [pm_exc_vseg + 8], 0xFFFF, 0x3333
        CHECK32M "pushed GS", [pm_exc_vseg + 12], 0xFFFF, 0x4444
        CHECK32M "CS seen in V86", esi, 0xFFFF, ROM_SEG
        CHECK32M "SS seen in V86", ebx, 0xFFFF, V86_SS
        CHECK32M "SP seen in V86", ecx, 0xFFFF, V86_SP
        PEND
        ret

t_reflect:
        PGROUP "v86-int-iopl0"
        RUN_V86 v86_reflect, 2
        CHECK32M "handler ran through the IVT", eax, 0xFFFF, 1
        CHECK32 "#GPs: INT 60h, IRET, INT 3Dh", [mon_n], 3
        CHECK32 "logged opcodes", [mon_log], 0x00CDCFCD
        CHECK32 "#GP error code 0", [mon_err], 0
        CHECK32M "still V86 with IOPL 0", [v86_efl], EF_VM | 0x3000, EF_VM
        PEND
        ret

t_iopl0:
        PGROUP "v86-iopl-sensitive"
        RUN_V86 v86_sensitive, EF_IF | 2
        CHECK32 "#GPs: CLI STI PUSHF POPF INT", [mon_n], 5
        CHECK32 "logged", [mon_log], 0x9D9CFBFA
        CHECK32M "SP balanced", ebx, 0xFFFF, V86_SP
        CHECK32M "IF untouched", [v86_efl], EF_IF, EF_IF
        PEND
        ret

t_iopl3:
        PGROUP "v86-iopl3"
        SET_GATE 0x60, pm_stub_96, SEL_CODE32, ACC_INT32 | DPL3
        ARM32 0
        RUN_V86 v86_iopl3, EF_IOPL3 | 2
        SET_GATE 0x60, pm_stub_96, SEL_CODE32, ACC_INT32
        CHECK32 "no #GP", [mon_n], 0
        CHECK32 "INT 60h through the IDT", [pm_exc_count], 1
        CHECK32M "the IVT handler did not run", [MARK], 0xFFFF, 0
        mov byte [pm_armed], 0
        CHECK32M "PUSHF image: IF clear, IOPL 3", eax, 0x3200, 0x3000
        CHECK32M "real IF cleared by CLI", [v86_efl], EF_IF, 0
        PEND
        ret

t_io:
        PGROUP "v86-io"
        mov eax, 0x80
        btr [TSS_IOPB], eax
        mov eax, 0x87
        btr [TSS_IOPB], eax
        RUN_V86 v86_io, EF_IOPL3 | 2
        CHECK32 "#GPs: IN 81h, OUT DX (87h-88h)", [mon_n], 2
        CHECK32M "logged", [mon_log], 0xFFFF, 0xEFE4
        mov eax, 0x80
        bts [TSS_IOPB], eax
        mov eax, 0x87
        bts [TSS_IOPB], eax
        PEND
        ret

t_vme:
        PGROUP "vme"
%ifdef NO_VME
        PPRINT `note: VME/PVI not checked (NO_VME)\n`
        PEND
        ret
%endif
        PIF_CLASS_AT_LEAST CLASS_586, .go
        PPRINT `note: no VME on the 486\n`
        PEND
        ret
.go:    mov eax, cr4
        or eax, 1                       ; VME
        mov cr4, eax
        mov eax, 0x60
        btr [TSS_IRB], eax
        RUN_V86 v86_vme, 2
        CHECK32 "#GPs: only INT 3Dh", [mon_n], 1
        CHECK32M "logged", [mon_log], 0xFF, 0xCD
        CHECK32M "redirected INT 60h ran in V86", ecx, 0xFFFF, 1
        CHECK32M "PUSHF after STI: IF = VIF = 1, IOPL 3", eax, 0x3200, 0x3200
        CHECK32M "PUSHF after CLI: IF = VIF = 0", ebx, 0x0200, 0
        CHECK32M "real IF untouched, VIF clear", [v86_efl], EF_IF | EF_VIF, 0
        mov eax, 0x60
        bts [TSS_IRB], eax
        RUN_V86 v86_vip, EF_VIP | 2
        CHECK32 "STI with VIP: #GP", [mon_n], 2
        CHECK32M "logged", [mon_log], 0xFFFF, 0xCDFB
        mov eax, cr4
        and eax, ~1
        mov cr4, eax
        PEND
        ret

t_pvi:
        PGROUP "pvi"
%ifdef NO_VME
        PPRINT `note: VME/PVI not checked (NO_VME)\n`
        PEND
        ret
%endif
        PIF_CLASS_AT_LEAST CLASS_586, .go
        PPRINT `note: no PVI on the 486\n`
        PEND
        ret
.go:    mov eax, cr4
        or eax, 2                       ; PVI
        mov cr4, eax
        ARM32 0
        ENTER_RING3 2
        sti
        LEAVE_RING3
        CHECK_NOEXC32 "STI at CPL 3, IOPL 0"
        CHECK32M "VIF set, IF kept", [pm_r3_efl], EF_VIF | EF_IF, EF_VIF
        ARM32 0
        ENTER_RING3 EF_VIF | 2
        cli
        LEAVE_RING3
        CHECK_NOEXC32 "CLI at CPL 3, IOPL 0"
        CHECK32M "VIF cleared", [pm_r3_efl], EF_VIF | EF_IF, 0
        ARM32 .a
        ENTER_RING3 EF_VIP | 2
.a0:    sti
.a:     CHECK_EXC32 "STI with VIP", 13, 0, .a0
        mov eax, cr4
        and eax, ~2
        mov cr4, eax
        PEND
        ret

bits 16
        ROM_END
