/* Unit tests: the pure event-delivery rules (vmx/event.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../vmx/event.h"

/* SDM Vol. 3 table 6-5, every class against every class, by vector:
 * benign #DB(1), #UD(6), #MF(16); contributory #DE(0), #TS(10), #NP(11),
 * #SS(12), #GP(13); #PF(14); and #DF(8) first. */
static void test_double_fault_table(void **s)
{
    (void)s;
    static const unsigned benign[] = { 1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19, 20, 32, 255 };
    static const unsigned contributory[] = { 0, 10, 11, 12, 13 };
    for (unsigned i = 0; i < sizeof(benign) / sizeof(benign[0]); i++) {
        for (unsigned j = 0; j < 5; j++) {
            /* benign first: the second is handled serially, whatever it is */
            assert_int_equal(exception_merge(benign[i], contributory[j]), MERGE_SECOND);
            /* anything first, benign second: serially */
            assert_int_equal(exception_merge(contributory[j], benign[i]), MERGE_SECOND);
        }
        assert_int_equal(exception_merge(benign[i], 14), MERGE_SECOND);
        assert_int_equal(exception_merge(14, benign[i]), MERGE_SECOND);
        assert_int_equal(exception_merge(8, benign[i]), MERGE_SECOND);
    }
    for (unsigned i = 0; i < 5; i++) {
        for (unsigned j = 0; j < 5; j++)
            assert_int_equal(exception_merge(contributory[i], contributory[j]), MERGE_DOUBLE_FAULT);
        assert_int_equal(exception_merge(contributory[i], 14), MERGE_SECOND); /* #GP, then #PF */
        assert_int_equal(exception_merge(14, contributory[i]), MERGE_DOUBLE_FAULT);
        assert_int_equal(exception_merge(8, contributory[i]), MERGE_TRIPLE_FAULT);
    }
    assert_int_equal(exception_merge(14, 14), MERGE_DOUBLE_FAULT);
    assert_int_equal(exception_merge(8, 14), MERGE_TRIPLE_FAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_fault_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
