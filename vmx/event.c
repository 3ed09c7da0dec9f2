#include "event.h"

#define DF_VECTOR 8
#define PF_VECTOR 14

enum exception_class { BENIGN, CONTRIBUTORY, PAGE_FAULT };

/* Table 6-4: #DE, #TS, #NP, #SS and #GP are contributory, #PF is its own
 * class, every other exception (and every vector above 31) is benign. */
static enum exception_class exception_class(unsigned vector)
{
    switch (vector) {
    case 0: case 10: case 11: case 12: case 13: return CONTRIBUTORY;
    case PF_VECTOR: return PAGE_FAULT;
    default: return BENIGN;
    }
}

enum exception_merge exception_merge(unsigned first, unsigned second)
{
    if (first == DF_VECTOR)
        return exception_class(second) == BENIGN ? MERGE_SECOND : MERGE_TRIPLE_FAULT;
    enum exception_class a = exception_class(first), b = exception_class(second);
    if ((a == CONTRIBUTORY && b == CONTRIBUTORY) || (a == PAGE_FAULT && b != BENIGN))
        return MERGE_DOUBLE_FAULT;
    return MERGE_SECOND;
}
