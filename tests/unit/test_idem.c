/*
 * test_idem.c: the idempotency table (idem.h): per-room keys, expiry by
 * age with no timer, the bound on keys, oldest forgotten first.
 */
#include "unit.h"

#include "idem.h"

static struct idem_result
res(uint64_t seq, const char *epoch)
{
	struct idem_result r = { .seq = seq };

	strcpy(r.epoch, epoch);
	return r;
}

static void
test_find_put(void)
{
	struct idem *t = idem_create(10);
	struct idem_result r1 = res(7, "e-1"), got;

	CU_ASSERT_FALSE(idem_find(t, "room", "k", 1, 0, &got));
	CU_ASSERT_EQUAL(idem_put(t, "room", "k", 1, &r1, 0), 0);
	CU_ASSERT_TRUE(idem_find(t, "room", "k", 1, 1000, &got));
	CU_ASSERT_EQUAL(got.seq, 7);
	CU_ASSERT_STRING_EQUAL(got.epoch, "e-1");
	/* the key is per room, and compared whole */
	CU_ASSERT_FALSE(idem_find(t, "room2", "k", 1, 1000, &got));
	CU_ASSERT_FALSE(idem_find(t, "room", "kk", 2, 1000, &got));
	CU_ASSERT_FALSE(idem_find(t, "roo", "mk", 2, 1000, &got));
	CU_ASSERT_EQUAL(idem_count(t), 1);
	idem_destroy(t);
}

static void
test_expiry_without_timer(void)
{
	struct idem *t = idem_create(10);
	struct idem_result r = res(1, "e"), got;

	idem_put(t, "r", "a", 1, &r, 0);
	idem_put(t, "r", "b", 1, &r, 100 * 1000);
	CU_ASSERT_TRUE(idem_find(t, "r", "a", 1, IDEM_TTL_MS - 1, &got));
	/* a lookup sweeps what is older than the TTL from the old end */
	CU_ASSERT_FALSE(idem_find(t, "r", "a", 1, IDEM_TTL_MS, &got));
	CU_ASSERT_EQUAL(idem_count(t), 1);
	CU_ASSERT_TRUE(idem_find(t, "r", "b", 1, IDEM_TTL_MS, &got));
	idem_sweep(t, 100 * 1000 + IDEM_TTL_MS);
	CU_ASSERT_EQUAL(idem_count(t), 0);
	idem_destroy(t);
}

static void
test_bound_evicts_oldest(void)
{
	struct idem *t = idem_create(100);
	struct idem_result r, got;
	char key[16];
	int i, n;

	for (i = 0; i < 250; i++) {
		n = snprintf(key, sizeof(key), "k%d", i);
		r = res((uint64_t)i, "e");
		CU_ASSERT_EQUAL(idem_put(t, "r", key, (size_t)n, &r, i), 0);
	}
	CU_ASSERT_EQUAL(idem_count(t), 100);
	CU_ASSERT_FALSE(idem_find(t, "r", "k149", 4, 300, &got));
	CU_ASSERT_TRUE(idem_find(t, "r", "k150", 4, 300, &got));
	CU_ASSERT_EQUAL(got.seq, 150);
	CU_ASSERT_TRUE(idem_find(t, "r", "k249", 4, 300, &got));
	idem_destroy(t);
}

static void
test_put_replaces(void)
{
	struct idem *t = idem_create(4);
	struct idem_result r1 = res(1, "e"), r2 = res(2, "e"), got;

	idem_put(t, "r", "k", 1, &r1, 0);
	idem_put(t, "r", "k", 1, &r2, 10);
	CU_ASSERT_EQUAL(idem_count(t), 1);
	CU_ASSERT_TRUE(idem_find(t, "r", "k", 1, 20, &got));
	CU_ASSERT_EQUAL(got.seq, 2);
	idem_destroy(t);
}

CU_TestInfo idem_tests[] = {
	{ "find and put, per room", test_find_put },
	{ "expiry swept by lookups, no timer", test_expiry_without_timer },
	{ "bounded: the oldest key goes first", test_bound_evicts_oldest },
	{ "a put replaces the same key", test_put_replaces },
	CU_TEST_INFO_NULL,
};
