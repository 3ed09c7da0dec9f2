; testos entry: Multiboot v1 header, own GDT and IDT, then kmain(magic, info).
bits 32

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00000002          ; we want memory information
section .multiboot
align 4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .bss
align 16
stack_bottom:
    resb 65536
stack_top:

section .data
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF        ; 0x08: flat 32-bit code
    dq 0x00CF92000000FFFF        ; 0x10: flat data
    dq 0x00AF9A000000FFFF        ; 0x18: 64-bit code (longmode.asm's excursions)
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt
idt_ptr:
    dw 256 * 8 - 1
    dd idt

section .bss
align 8
idt:
    resq 256

section .text
extern kmain
extern trap_handler
global _start

_start:
    mov esp, stack_top
    mov ecx, eax                 ; keep the Multiboot magic
    lgdt [gdt_ptr]
    jmp 0x08:.reload
.reload:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    ; Fill the IDT: interrupt gates to isr_N for every vector.
    xor esi, esi
.fill:
    mov eax, [isr_table + esi * 4]
    mov [idt + esi * 8], ax
    mov word [idt + esi * 8 + 2], 0x08
    mov word [idt + esi * 8 + 4], 0x8E00
    shr eax, 16
    mov [idt + esi * 8 + 6], ax
    inc esi
    cmp esi, 256
    jne .fill
    lidt [idt_ptr]
    push ebx                     ; Multiboot information
    push ecx                     ; magic
    call kmain
.halt:
    cli
    hlt
    jmp .halt

%define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21)
%macro ISR 1
isr_%1:
%if HAS_ERR(%1) == 0
    push 0
%endif
    push %1
    jmp trap_common
%endmacro
%assign v 0
%rep 256
ISR v
%assign v v+1
%endrep

; Frame for trap_handler: edi esi ebp esp ebx edx ecx eax, vector, error, eip, cs, eflags
trap_common:
    pushad
    push esp
    call trap_handler
    add esp, 4
    popad
    add esp, 8                   ; vector, error code
    iretd

section .data
isr_table:
%assign v 0
%rep 256
    dd isr_ %+ v
%assign v v+1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
