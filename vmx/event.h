/* Rules of x86 event delivery that need no VMCS (pure C, host-tested):
 * the start of the event-arbitration unit DESIGN §9 and issue 9 ask for. */
#ifndef VMX_EVENT_H
#define VMX_EVENT_H

/* What the CPU delivers when delivering exception `first` raises exception
 * `second` (SDM Vol. 3 §6.15, "Conditions for Generating a Double Fault",
 * table 6-5): the second alone (the first is handled serially or, a
 * benign one, found again when the instruction re-executes), a double
 * fault (#DF, error code 0), or, after a #DF, a triple fault (shutdown). */
enum exception_merge { MERGE_SECOND, MERGE_DOUBLE_FAULT, MERGE_TRIPLE_FAULT };
enum exception_merge exception_merge(unsigned first, unsigned second);

#endif
