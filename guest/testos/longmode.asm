; A short excursion into 64-bit mode for tests that need it (8-byte
; accesses, REX prefixes, 4-level paging): lm_call switches the 32-bit
; testos to IA-32e mode with the caller's 4-level page tables, runs one
; 64-bit routine, and comes back to 32-bit protected mode with paging off.
; Interrupts must be off (testos's IDT is a 32-bit one) and the routine
; must not fault.
bits 32

CR0_PG    equ 1 << 31
CR4_PAE   equ 1 << 5
EFER      equ 0xC0000080
EFER_LME  equ 1 << 8
CODE32    equ 0x08
CODE64    equ 0x18

section .bss
align 4
saved_esp: resd 1
routine:   resd 1

section .text
; void lm_call(uint32_t pml4, void (*routine64)(void))
global lm_call
lm_call:
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_esp], esp
    mov eax, [esp + 24]
    mov [routine], eax
    mov eax, [esp + 20]
    mov cr3, eax
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov ecx, EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax                ; IA-32e mode, still 32-bit code (compatibility mode)
    jmp CODE64:.in64
bits 64
.in64:
    mov esp, esp                ; RSP's upper half is 0 from here on
    mov eax, [routine]
    call rax
    push CODE32
    mov eax, .back32
    push rax
    o64 retf
bits 32
.back32:
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax                ; leaves IA-32e mode
    mov ecx, EFER
    rdmsr
    and eax, ~EFER_LME
    wrmsr
    mov eax, cr4
    and eax, ~CR4_PAE
    mov cr4, eax
    mov esp, [saved_esp]
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; The paging group's 64-bit routine: the IOAPIC and LAPIC through their
; second mapping (IOAPIC at 0x40000000, LAPIC at 0x40001000), with 8-byte
; loads and stores, REX registers, SIB and an 8-byte read-modify-write;
; then REP OUTSB with 64-bit addresses and an FS override. Results go to
; lm_results[0..7].
bits 64
global lm_mmio_routine
extern lm_results
lm_mmio_routine:
    push rbx
    mov ebx, 0x40000000
    mov qword [rbx], 1                  ; 8-byte store: IOREGSEL = 1 (version)
    mov rax, [rbx + 0x10]               ; 8-byte load: IOWIN and the word after it
    mov [lm_results], rax
    mov r9d, 0x40001000
    mov r10d, [r9 + 0x30]               ; REX.B, REX.R: LAPIC version
    mov [lm_results + 8], r10
    mov dword [r9 + 0x80], 0x20         ; TPR = 0x20
    or qword [r9 + 0x80], 0x10          ; REX.W 83 /1: 8-byte OR
    mov r11, [r9 + 0x80]                ; 8-byte load of TPR
    mov [lm_results + 16], r11
    mov ecx, 6
    mov eax, [r9 + rcx * 8]             ; SIB: offset 0x30 again
    mov [lm_results + 24], rax
    mov word [r9 + 0x80], 0x40          ; 2-byte store to TPR
    movzx eax, byte [r9 + 0x80]         ; 1-byte load
    mov [lm_results + 32], rax
    mov dword [r9 + 0x80], 0
    mov qword [rbx], 0                  ; IOREGSEL back to 0
    ; String I/O with 64-bit addresses and an FS override: FS base points
    ; 0x100 below lm_fs_bytes, RSI = 0x100; four bytes to pc-testdev's
    ; read-back port, which keeps the last.
    mov ecx, 0xC0000100                 ; IA32_FS_BASE
    mov eax, lm_fs_bytes - 0x100
    xor edx, edx
    wrmsr
    mov esi, 0x100
    mov ecx, 4
    mov edx, 0xE0
    cld
    db 0x64                             ; FS:
    rep outsb
    mov [lm_results + 40], rsi
    mov [lm_results + 48], rcx
    in eax, dx
    mov [lm_results + 56], rax
    mov ecx, 0xC0000100
    xor eax, eax
    xor edx, edx
    wrmsr                               ; FS base back to 0
    pop rbx
    ret

; The hpet group's 64-bit routine: the HPET (identity-mapped in the 3-4 GiB
; page) with 8-byte loads and stores, its counter halted. Results go to
; lm_results[0..4].
global lm_hpet_routine
lm_hpet_routine:
    push rbx
    mov ebx, 0xFED00000
    mov rax, [rbx]                      ; capabilities and period, one load
    mov [lm_results], rax
    mov rax, [rbx + 0x100]              ; timer 0: configuration and route cap
    mov [lm_results + 8], rax
    mov rax, 0x0000000500000007
    mov [rbx + 0xF0], rax               ; the halted main counter, one store
    mov rcx, [rbx + 0xF0]
    mov [lm_results + 16], rcx
    mov rax, 0x000000123456789A
    mov [rbx + 0x108], rax              ; comparator 0, one store
    mov rdx, [rbx + 0x108]
    mov [lm_results + 24], rdx
    mov rax, [rbx + 0x104]              ; misaligned 8 bytes: not a register, reads 0
    mov [lm_results + 32], rax
    pop rbx
    ret

section .data
lm_fs_bytes: db 0x11, 0x22, 0x33, 0x44

section .note.GNU-stack noalloc noexec nowrite progbits
