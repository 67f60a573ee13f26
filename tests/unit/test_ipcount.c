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
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1", 64), 0);
	a1 = ipcount_take(t, "10.0.0.1", 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a1);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1", 64), 1);
	a2 = ipcount_take(t, "10.0.0.1", 64);
	CU_ASSERT_PTR_EQUAL(a2, a1);		/* one entry per address */
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1", 64), 2);
	b = ipcount_take(t, "::1", 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(b, a1);
	CU_ASSERT_EQUAL(ipcount_get(t, "::1", 64), 1);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1", 64), 2);
	/* addresses are compared exactly */
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.10", 64), 0);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.", 64), 0);
	CU_ASSERT_EQUAL(ipcount_get(t, "", 64), 0);
	ipcount_put(t, a1);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1", 64), 1);
	ipcount_put(t, a2);
	CU_ASSERT_EQUAL(ipcount_get(t, "10.0.0.1", 64), 0);
	CU_ASSERT_EQUAL(ipcount_get(t, "::1", 64), 1);
	ipcount_put(t, b);
	CU_ASSERT_EQUAL(ipcount_get(t, "::1", 64), 0);
	ipcount_destroy(t);
}

static void
entry_freed_with_last_put_and_made_again(void)
{
	struct ipcount *t = ipcount_create();
	struct ipcount_entry *e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	e = ipcount_take(t, "192.0.2.7", 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	ipcount_put(t, e);		/* freed: ASan reports any reuse */
	CU_ASSERT_EQUAL(ipcount_get(t, "192.0.2.7", 64), 0);
	e = ipcount_take(t, "192.0.2.7", 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(ipcount_get(t, "192.0.2.7", 64), 1);
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
		e[i] = ipcount_take(t, addr, 128);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e[i]);
		if (i % 2)
			ipcount_take(t, addr, 128);
	}
	for (i = 0; i < N_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		ok &= ipcount_get(t, addr, 128) == (unsigned int)(1 + i % 2);
	}
	CU_ASSERT_TRUE(ok);
	/* put every even one (their last), then check the rest */
	for (i = 0; i < N_ADDRS; i += 2)
		ipcount_put(t, e[i]);
	for (ok = 1, i = 0; i < N_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		ok &= ipcount_get(t, addr, 128) == (unsigned int)(i % 2 ? 2 : 0);
	}
	CU_ASSERT_TRUE(ok);
	ipcount_destroy(t);	/* frees the entries still taken */
}

static void
ipv6_counts_by_prefix(void)
{
	struct ipcount *t = ipcount_create();
	struct ipcount_entry *a, *b, *c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* one /64: one client, however its hosts are numbered */
	a = ipcount_take(t, "2001:db8:1:2::1", 64);
	b = ipcount_take(t, "2001:db8:1:2:ffff:ffff:ffff:fffe", 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8:1:2:abcd::", 64), 2);
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8:1:3::1", 64), 0);
	/* a prefix that ends inside a byte: /60 keeps 0x002_ of 0x0020 */
	c = ipcount_take(t, "2001:db8:1:20::1", 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8:1:2f:1::", 60), 1);
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8:1:30::1", 60), 0);
	/* /128 is the whole address; spellings of one address agree */
	ipcount_put(t, c);
	c = ipcount_take(t, "2001:DB8:0:0::7", 128);
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8::7", 128), 1);
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8::8", 128), 0);
	/* the same address under another vhost's prefix is counted apart */
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8:1:2::1", 48), 0);
	/* past 128 is read as 128 */
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8::7", 200), 1);
	ipcount_put(t, a);
	ipcount_put(t, b);
	ipcount_put(t, c);
	CU_ASSERT_EQUAL(ipcount_get(t, "2001:db8:1:2::1", 64), 0);
	ipcount_destroy(t);
}

static void
ipv4_mapped_counts_as_ipv4(void)
{
	struct ipcount *t = ipcount_create();
	struct ipcount_entry *a, *b, *c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/*
	 * A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; under a
	 * /64 they would all be one client.
	 */
	a = ipcount_take(t, "::ffff:192.0.2.1", 64);
	b = ipcount_take(t, "192.0.2.1", 64);
	c = ipcount_take(t, "::ffff:192.0.2.2", 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_PTR_NOT_EQUAL(a, c);
	CU_ASSERT_EQUAL(ipcount_get(t, "192.0.2.1", 32), 2);
	CU_ASSERT_EQUAL(ipcount_get(t, "192.0.2.2", 64), 1);
	CU_ASSERT_EQUAL(ipcount_get(t, "192.0.2.3", 64), 0);
	ipcount_put(t, a);
	ipcount_put(t, b);
	ipcount_put(t, c);
	ipcount_destroy(t);
}

static void
text_that_is_no_address_counts_as_itself(void)
{
	struct ipcount *t = ipcount_create();
	struct ipcount_entry *a, *b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	a = ipcount_take(t, "", 64);		/* a unix socket's peer */
	b = ipcount_take(t, "fe80::1%eth0", 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(ipcount_get(t, "", 64), 1);
	CU_ASSERT_EQUAL(ipcount_get(t, "fe80::1%eth0", 64), 1);
	CU_ASSERT_EQUAL(ipcount_get(t, "fe80::1%eth1", 64), 0);
	CU_ASSERT_EQUAL(ipcount_get(t, "fe80::1", 64), 0);
	ipcount_put(t, a);
	ipcount_put(t, b);
	ipcount_destroy(t);
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
	{ "IPv6 addresses count by their first v6_prefix bits",
	  ipv6_counts_by_prefix },
	{ "an IPv4-mapped IPv6 address counts as its IPv4 address",
	  ipv4_mapped_counts_as_ipv4 },
	{ "text that is no address counts as itself",
	  text_that_is_no_address_counts_as_itself },
	{ "ipcount_destroy(NULL) is a no-op", destroy_null_is_a_noop },
	CU_TEST_INFO_NULL,
};
