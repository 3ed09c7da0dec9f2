; testos: hardware task switches for hostile's task_switch case. The task
; bodies record what the task they run in sees (registers, EFLAGS, TR,
; selectors, the word on top of its stack, where the main task will
; resume), and the switches from the main task set every general register
; to a known value first, so that the C side (test_hostile.c) can check what
; a switch loaded, what it saved and what came back.
bits 32

TS_A equ 0x20                    ; the main task (LTR)
TS_B equ 0x28                    ; JMP and CALL target
TS_WINDOW equ 0x40000000         ; with paging: mapped differently for task B

; struct ts_record (test_hostile.c): eax ecx edx ebx esp ebp esi edi (0-31),
; eflags (32), tr cs ss ds fs (36-44, words), the dword on top of the stack
; (48), CR0 (52), CR3 (56), the dword at TS_WINDOW when ts_window_on (60).
%macro RECORD 1
    mov [%1 + 0], eax
    mov [%1 + 4], ecx
    mov [%1 + 8], edx
    mov [%1 + 12], ebx
    mov [%1 + 16], esp
    mov [%1 + 20], ebp
    mov [%1 + 24], esi
    mov [%1 + 28], edi
    pushfd
    pop dword [%1 + 32]
    str word [%1 + 36]
    mov [%1 + 38], cs
    mov [%1 + 40], ss
    mov [%1 + 42], ds
    mov [%1 + 44], fs
    mov eax, [esp]
    mov [%1 + 48], eax
    mov eax, cr0
    mov [%1 + 52], eax
    mov eax, cr3
    mov [%1 + 56], eax
    xor eax, eax
    cmp dword [ts_window_on], 0
    je %%no_window
    mov eax, [TS_WINDOW]
%%no_window:
    mov [%1 + 60], eax
%endmacro

; Where the main task will resume: the EIP saved in its TSS by the switch
; that brought us here.
%macro RECORD_A_EIP 0
    mov ebx, [ts_tss_a]
    mov ebx, [ebx + 0x20]
    mov [ts_a_eip], ebx
%endmacro

%macro KNOWN_REGS 0
    mov eax, 0xA0A0A0A0
    mov ecx, 0xC1C1C1C1
    mov edx, 0xD2D2D2D2
    mov ebx, 0xB3B3B3B3
    mov ebp, 0xE5E5E5E5
    mov esi, 0x5A5A5A5A
    mov edi, 0xD7D7D7D7
%endmacro

; The main task's side of a switch: CR0.TS clear (a switch sets it),
; registers to known values, ESP and EFLAGS noted, the switch, then what
; came back recorded.
%macro SWITCH 1
    clts
    pushad
    mov [ts_before_esp], esp
    pushfd
    pop dword [ts_before_eflags]
    KNOWN_REGS
    %1
%endmacro
%macro SWITCHED 0
    RECORD ts_after
    popad
    ret
%endmacro

section .data
global ts_far, ts_tss_a, ts_a_eip, ts_before_esp, ts_before_eflags, ts_seen, ts_after
global ts_bad_sel, ts_gp_skip, ts_d_entries, ts_window_on
align 4
ts_far:
    dd 0
    dw TS_B
align 4
ts_tss_a: dd 0                   ; set by the C side
ts_a_eip: dd 0
ts_before_esp: dd 0
ts_before_eflags: dd 0
ts_seen: times 16 dd 0           ; what the last task body saw
ts_after: times 16 dd 0          ; what the main task had after switching back
ts_bad_sel: dw 0x1230            ; beyond the GDT's limit: loading it is #GP(0x1230)
align 4
ts_gp_skip: dd ts_gp_after - ts_gp_at
ts_d_entries: dd 0
ts_window_on: dd 0               ; set by the C side while paging maps TS_WINDOW

section .text
global ts_jmp_b, ts_call_b, ts_gp_fault, ts_int_41
global ts_jmp_ret, ts_call_ret, ts_gp_at, ts_int_ret
global ts_b_jmp_body, ts_b_call_body, ts_c_body, ts_d_body

; void ts_jmp_b(void): JMP to task B (direct far pointer, 7 bytes); B JMPs back.
ts_jmp_b:
    SWITCH {jmp TS_B:0}
ts_jmp_ret:
    SWITCHED

; void ts_call_b(void): CALL task B through a far pointer in memory (6
; bytes); B returns with IRET.
ts_call_b:
    SWITCH {call far [ts_far]}
ts_call_ret:
    SWITCHED

; void ts_gp_fault(void): MOV DS of a selector beyond the GDT's limit: #GP
; with error code 0x1230, delivered through the IDT (a task gate to task C
; when the test installs it).
ts_gp_fault:
    SWITCH {}
ts_gp_at:
    mov ds, [ts_bad_sel]
ts_gp_after:
    SWITCHED

; void ts_int_41(void): INT 0x41 (a task gate to task D).
ts_int_41:
    SWITCH {int 0x41}
ts_int_ret:
    SWITCHED

; Each body records, then clears CR0.TS so that the main task can see that
; the switch back set it again.
;
; Task B entered by JMP: record, JMP back to the main task. Entered again,
; it goes on after its JMP: so every body is a loop.
ts_b_jmp_body:
    RECORD ts_seen
    RECORD_A_EIP
    clts
    jmp TS_A:0
    jmp ts_b_jmp_body

; Task B entered by CALL: record, IRET to the caller (NT set, back link).
ts_b_call_body:
    RECORD ts_seen
    RECORD_A_EIP
    clts
    iretd
    jmp ts_b_call_body

; Task C, the #GP handler behind a task gate: the error code is on top of
; its stack. It moves the interrupted task past the faulting instruction,
; drops the error code and returns.
ts_c_body:
    RECORD ts_seen
    RECORD_A_EIP
    mov ebx, [ts_tss_a]
    mov eax, [ts_gp_skip]
    add [ebx + 0x20], eax
    add esp, 4
    clts
    iretd
    jmp ts_c_body

; Task D, INT 0x41's handler behind a task gate: no error code. Entered a
; second time, the INT is being executed again (the main task was saved
; pointing at it, not after it): skip it then, so the test ends and says so.
ts_d_body:
    RECORD ts_seen
    inc dword [ts_d_entries]
    cmp dword [ts_d_entries], 1
    jne .again
    RECORD_A_EIP
    clts
    iretd
    jmp ts_d_body
.again:
    mov ebx, [ts_tss_a]
    add dword [ebx + 0x20], 2
    iretd
    jmp ts_d_body

section .note.GNU-stack noalloc noexec nowrite progbits
