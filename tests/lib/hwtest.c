/* hwtest.c: the CUnit runner: basic verbose mode, exit status from every failure record. */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "hwtest.h"

int hwtest_init(void)
{
	return CU_initialize_registry() == CUE_SUCCESS ? 0 : -1;
}

int hwtest_suite(const char *name, int (*init)(void), int (*cleanup)(void), const hwtest_case_t *cases)
{
	CU_pSuite s = CU_add_suite(name, init, cleanup);

	if(!s) return -1;
	for(const hwtest_case_t *c = cases; c->name; c++){
		if(!CU_add_test(s, c->name, c->fn)) return -1;
	}
	return 0;
}

int hwtest_run(void)
{
	unsigned failed_suites, failed_tests, failed_asserts, records, ran;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	if(CU_basic_run_tests() != CUE_SUCCESS){
		fprintf(stderr, "hwtest: CUnit could not run: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	failed_suites = CU_get_number_of_suites_failed();
	failed_tests = CU_get_number_of_tests_failed();
	failed_asserts = CU_get_number_of_failures();
	records = CU_get_number_of_failure_records();
	ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if(failed_suites || failed_tests || failed_asserts || records){
		fprintf(stderr, "hwtest: FAILED (%u suites failed to set up, %u tests failed)\n", failed_suites, failed_tests);
		return 1;
	}
	if(ran == 0){
		fprintf(stderr, "hwtest: FAILED: no test ran\n");
		return 1;
	}
	return 0;
}
