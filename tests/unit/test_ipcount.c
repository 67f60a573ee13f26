/*
 * test_ipcount.c: open connections per client address (ipcount.h), for
 * max-connections-per-ip.
 */
#include "unit.h"

#include "ipcount.h"

#include <stdio.h>

static void
take_counts_per_address(void)
{
	struct ipcount *t = ipcount_create();
	struct ipcount_entry *a1, *a2, *b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1"), 0);
	a1 = ipcount_take(t, "10.0.0.1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a1);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1"), 1);
	a2 = ipcount_take(t, "10.0.0.1");
	CU_ASSERT_PTR_EQUAL(a2, a1);		/* one entry per address */
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1"), 2);
	b = ipcount_take(t, "::1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(b, a1);
	CU_ASSERT_EQUAL(ipcount_get(t, "::1"), 1);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1"), 2);
	/* addresses are compared exactly */
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.10"), 0);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0."), 0);
	CU_ASSERT_EQUAL(ipcount_get(t, ""), 0);
	ipcount_put(t, a1);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1"), 1);
	ipcount_put(t, a2);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1"), 0);
	CU_ASSERT_EQUAL(ipcount_get(t, "::1"), 1);
	ipcount_put(t, b);
	CU_ASSERT_EQUAL(ipcount_get(t, "::1"), 0);
	ipcount_destroy(t);
}

static void
entry_freed_with_last_put_and_made_again(void)
{
	struct ipcount *t = ipcount_create();
	struct ipcount_entry *e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	e = ipcount_take(t, "192.0.2.7");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	ipcount_put(t, e);		/* freed: ASan reports any reuse */
	CU_ASSERT_EQUAL(ipcount_get(t, "192.0.2.7"), 0);
	e = ipcount_take(t, "192.0.2.7");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(ipcount_get(t, "192.0.2.7"), 1);
	ipcount_put(t, e);
	ipcount_put(t, NULL);		/* a no-op */
	ipcount_destroy(t);
}

#define N_ADDRS 5000

static void
many_addresses_share_buckets(void)
{
	static struct ipcount_entry *e[N_ADDRS];
	struct ipcount *t = ipcount_create();
	char addr[64];
	int i, ok = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0; i < N_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		e[i] = ipcount_take(t, addr);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e[i]);
		if (i % 2)
			ipcount_take(t, addr);
	}
	for (i = 0; i < N_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		ok &= ipcount_get(t, addr) == (unsigned int)(1 + i % 2);
	}
	CU_ASSERT_TRUE(ok);
	/* put every even one (their last), then check the rest */
	for (i = 0; i < N_ADDRS; i += 2)
		ipcount_put(t, e[i]);
	for (ok = 1, i = 0; i < N_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		ok &= ipcount_get(t, addr) == (unsigned int)(i % 2 ? 2 : 0);
	}
	CU_ASSERT_TRUE(ok);
	ipcount_destroy(t);	/* frees the entries still taken */
}

static void
destroy_null_is_a_noop(void)
{
	ipcount_destroy(NULL);
	CU_PASS("ipcount_destroy(NULL) returned");
}

CU_TestInfo ipcount_tests[] = {
	{ "take counts connections per address; put uncounts",
	  take_counts_per_address },
	{ "an entry is freed with its last put, and made again",
	  entry_freed_with_last_put_and_made_again },
	{ "5000 addresses share the buckets correctly",
	  many_addresses_share_buckets },
	{ "ipcount_destroy(NULL) is a no-op", destroy_null_is_a_noop },
	CU_TEST_INFO_NULL,
};
