/*
 * runner.c: runs every CUnit suite of roomcast's core modules.
 *
 * Exit status: 0 when every test passed, 1 when one failed or the CUnit
 * registry could not be set up.
 */
#include "unit.h"

#include <CUnit/Basic.h>
#include <stdio.h>

static CU_SuiteInfo suites[] = {
	{ "rconf", NULL, NULL, NULL, NULL, rconf_tests },
	{ "msg", NULL, NULL, NULL, NULL, msg_tests },
	{ "sendq", NULL, NULL, NULL, NULL, sendq_tests },
	{ "siphash", NULL, NULL, NULL, NULL, siphash_tests },
	{ "htable", NULL, NULL, NULL, NULL, htable_tests },
	{ "rooms", NULL, NULL, NULL, NULL, rooms_tests },
	{ "codec", NULL, NULL, NULL, NULL, codec_tests },
	{ "roster", NULL, NULL, NULL, NULL, roster_tests },
	{ "stats", NULL, NULL, NULL, NULL, stats_tests },
	{ "ipcount", NULL, NULL, NULL, NULL, ipcount_tests },
	{ "guest_id", NULL, NULL, NULL, NULL, guest_id_tests },
	{ "qindex", NULL, NULL, NULL, NULL, qindex_tests },
	{ "hub", NULL, NULL, hub_test_setup, hub_test_teardown, hub_tests },
	{ "hub_history", NULL, NULL, NULL, NULL, hub_history_tests },
	{ "store", NULL, NULL, NULL, NULL, store_tests },
	{ "jwt", jwt_suite_init, jwt_suite_cleanup, NULL, NULL, jwt_tests },
	{ "history", NULL, NULL, NULL, NULL, history_tests },
	{ "conf", NULL, NULL, NULL, NULL, conf_tests },
	{ "evpoll", NULL, NULL, NULL, NULL, evpoll_tests },
	{ "idem", NULL, NULL, NULL, NULL, idem_tests },
	{ "api", NULL, NULL, NULL, NULL, api_tests },
	{ "chunked", NULL, NULL, NULL, NULL, chunked_tests },
	{ "hub_auth", NULL, NULL, hub_auth_test_setup, hub_auth_test_teardown,
	  hub_auth_tests },
	{ "bus", NULL, NULL, NULL, NULL, bus_tests },
	CU_SUITE_INFO_NULL,
};

int
main(void)
{
	unsigned int failures;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 1;
	}
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	failures = CU_get_number_of_failures();
	/* A suite whose init failed counts in neither tests nor failures. */
	if (CU_get_run_summary()->nSuitesFailed)
		failures++;
	CU_cleanup_registry();
	return failures != 0;
}
