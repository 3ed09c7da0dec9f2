; Exception and interrupt entry stubs for the hypervisor's IDT, and segment
; reloading. Every vector lands in exception_dispatch (exceptions.c) with a
; struct exception_frame pointer; exceptions end there, interrupts (the
; hypervisor enables them only while it waits with sti; hlt) and NMIs return.
default rel
bits 64
section .text

extern exception_dispatch
global isr_stub_table
global desc_reload_segments
global switch_stack_and_call

; Vectors whose exceptions push an error code.
%define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%macro ISR 1
isr_%1:
%if HAS_ERR(%1) == 0
    push 0
%endif
    push %1
    jmp isr_common
%endmacro

%assign v 0
%rep 256
ISR v
%assign v v+1
%endrep

isr_common:
    push rax
    push rcx
    push rdx
    push rbx
    push rbp
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    mov rbx, rsp                ; callee-saved: the frame
    and rsp, -16
    call exception_dispatch     ; returns only for interrupts and NMIs
    mov rsp, rbx
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rbp
    pop rbx
    pop rdx
    pop rcx
    pop rax
    add rsp, 16                 ; vector and error code
    iretq

; void desc_reload_segments(uint16_t cs, uint16_t ds)
desc_reload_segments:
    mov ds, si
    mov es, si
    mov ss, si
    xor eax, eax
    mov fs, ax
    mov gs, ax
    lea rax, [.reloaded]
    push rdi
    push rax
    retfq
.reloaded:
    ret

; void switch_stack_and_call(uint64_t stack_top, void (*fn)(void *), void *arg)
; Never returns.
switch_stack_and_call:
    mov rsp, rdi
    xor ebp, ebp
    mov rdi, rdx
    call rsi
.hang:
    cli
    hlt
    jmp .hang

section .data
align 8
isr_stub_table:
%assign v 0
%rep 256
    dq isr_ %+ v
%assign v v+1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
