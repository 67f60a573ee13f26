/* Log-linear latency histogram in microseconds: 64 sub-buckets per power of
 * two (relative error < 1.6%), values up to 2^37 us. Plain array so workers
 * can ship it through a pipe and the parent can add them up. */
#ifndef ROOMCAST_BENCH_HIST_H
#define ROOMCAST_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB 64
#define HIST_N (HIST_SUB * 33)

struct hist {
	uint64_t n;
	uint64_t b[HIST_N];
};

static inline int hist_idx(uint64_t v)
{
	int e;

	if (v < HIST_SUB)
		return (int)v;
	e = 63 - __builtin_clzll(v) - 6; /* v >> e in [64,127] */
	if (e > 31)
		return HIST_N - 1;
	return e * HIST_SUB + (int)(v >> e);
}

static inline uint64_t hist_val(int i)
{
	int e;

	if (i < HIST_SUB)
		return (uint64_t)i;
	e = i / HIST_SUB - 1;
	return (uint64_t)(i - e * HIST_SUB) << e;
}

static inline void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_idx(v)]++;
	h->n++;
}

static inline void hist_merge(struct hist *d, const struct hist *s)
{
	int i;

	for (i = 0; i < HIST_N; i++)
		d->b[i] += s->b[i];
	d->n += s->n;
}

/* Value at percentile p (0-100): the bucket's upper bound. */
static inline uint64_t hist_pct(const struct hist *h, double p)
{
	uint64_t want, acc = 0;
	int i;

	if (!h->n)
		return 0;
	want = (uint64_t)((double)h->n * p / 100.0 + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_N; i++) {
		acc += h->b[i];
		if (acc >= want)
			return hist_val(i + 1) > 0 ? hist_val(i + 1) - 1 : 0;
	}
	return hist_val(HIST_N - 1);
}

#endif
