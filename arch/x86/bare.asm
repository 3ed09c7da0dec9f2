; Leaving long mode for a Multiboot kernel run without VMX (config
; "bare = on", the baseline of `make bench`): 64-bit -> compatibility mode
; -> paging off (which ends long mode) -> LME off -> the kernel's entry in
; 32-bit protected mode with EAX = 0x2BADB002, EBX = information structure.
; This code must sit below 4 GiB (identity-mapped); the caller checks.
default rel
bits 64
section .text
global bare_enter

%define HOST_CS32 0x28
%define HOST_DS32 0x30

; void bare_enter(uint32_t entry /* edi */, uint32_t mb_info /* esi */)
bare_enter:
    cli
    lea rax, [.compat]
    push HOST_CS32
    push rax
    retfq
bits 32
.compat:
    mov eax, cr0
    and eax, 0x7fffffff          ; paging off: long mode ends
    mov cr0, eax
    mov ecx, 0xC0000080          ; IA32_EFER
    rdmsr
    and eax, ~0x100              ; LME off
    wrmsr
    mov eax, cr4
    and eax, ~0x20               ; PAE off, as Multiboot leaves it
    mov cr4, eax
    mov ax, HOST_DS32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov eax, 0x2BADB002
    mov ebx, esi
    jmp edi

section .note.GNU-stack noalloc noexec nowrite progbits
