; VM entry and VM exit: switch general-purpose registers between the
; hypervisor and the guest. struct guest_regs (vm.h) holds 16 quadwords in
; SDM register order; slot 4 (RSP) is unused.
default rel
bits 64
section .text

global vmx_enter
global vmx_exit_point
extern vm_exit_fast

%define HOST_RSP_FIELD 0x6C14
%define EXIT_REASON_FIELD 0x4402
%define EXIT_CPUID 10
%define G(r) [rdi + (r) * 8]

; int vmx_enter(struct guest_regs *regs /* rdi */, int resume /* esi */)
; Returns 0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid.
vmx_enter:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    push rdi                    ; the exit path finds regs here: [HOST_RSP]
    mov eax, HOST_RSP_FIELD
    vmwrite rax, rsp
    test esi, esi               ; flags survive the MOVs below
.load:
    mov rax, G(0)
    mov rcx, G(1)
    mov rdx, G(2)
    mov rbx, G(3)
    mov rbp, G(5)
    mov rsi, G(6)
    mov r8,  G(8)
    mov r9,  G(9)
    mov r10, G(10)
    mov r11, G(11)
    mov r12, G(12)
    mov r13, G(13)
    mov r14, G(14)
    mov r15, G(15)
    mov rdi, G(7)
    jnz .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    ; Still on our stack with regs at [rsp]. CF: VMfailInvalid, ZF: VMfailValid.
    mov eax, 1
    jc .out
    mov eax, 2
.out:
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

; VM exits land here with RSP = the HOST_RSP written above.
vmx_exit_point:
    push rdi                    ; guest RDI
    mov rdi, [rsp + 8]          ; regs
    mov G(0), rax
    mov G(1), rcx
    mov G(2), rdx
    mov G(3), rbx
    mov G(5), rbp
    mov G(6), rsi
    mov G(8), r8
    mov G(9), r9
    mov G(10), r10
    mov G(11), r11
    mov G(12), r12
    mov G(13), r13
    mov G(14), r14
    mov G(15), r15
    pop rax
    mov G(7), rax
    ; The fast path (exit.c): a CPUID exit it completes goes straight
    ; back into the guest, without the return to vm_run. RSP is 16-byte
    ; aligned here (vmx_enter pushed seven quadwords after its return
    ; address).
    mov eax, EXIT_REASON_FIELD
    vmread rax, rax
    cmp eax, EXIT_CPUID
    jne .slow
    call vm_exit_fast           ; rdi = regs
    mov rdi, [rsp]
    test eax, eax
    jz .slow
    jmp vmx_enter.load          ; ZF clear: VMRESUME
.slow:
    xor eax, eax
    jmp vmx_enter.out

section .note.GNU-stack noalloc noexec nowrite progbits
