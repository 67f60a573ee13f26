/*
 * unit.h: what roomcast's CUnit test files share.
 *
 * Each test_<module>.c exports one NULL-terminated CU_TestInfo array,
 * registered by runner.c as a suite named after the module.
 */
#ifndef RM_UNIT_H
#define RM_UNIT_H

#include <CUnit/CUnit.h>

#include <stddef.h>
#include <string.h>

extern CU_TestInfo rconf_tests[];
extern CU_TestInfo msg_tests[];
extern CU_TestInfo sendq_tests[];
extern CU_TestInfo rooms_tests[];
extern CU_TestInfo codec_tests[];
extern CU_TestInfo roster_tests[];
extern CU_TestInfo stats_tests[];
extern CU_TestInfo ipcount_tests[];
extern CU_TestInfo hub_tests[];
extern CU_TestInfo hub_history_tests[];
extern CU_TestInfo store_tests[];
extern CU_TestInfo jwt_tests[];
extern CU_TestInfo siphash_tests[];
extern CU_TestInfo htable_tests[];
extern CU_TestInfo guest_id_tests[];
extern CU_TestInfo history_tests[];
extern CU_TestInfo conf_tests[];
extern CU_TestInfo qindex_tests[];
extern CU_TestInfo idem_tests[];
extern CU_TestInfo api_tests[];
extern CU_TestInfo chunked_tests[];
extern CU_TestInfo hub_auth_tests[];
extern CU_TestInfo bus_tests[];
extern CU_TestInfo evpoll_tests[];

/* The hub suite builds a fresh hub around every test. */
void hub_test_setup(void);
void hub_test_teardown(void);
void hub_auth_test_setup(void);
void hub_auth_test_teardown(void);

/* The jwt suite makes its keys and temporary directory once. */
int jwt_suite_init(void);
int jwt_suite_cleanup(void);

/* Returns 1 if the @len bytes at @got are exactly the C string @want. */
static inline int
unit_text_is(const char *got, size_t len, const char *want)
{
	return len == strlen(want) && !memcmp(got, want, len);
}

#endif
