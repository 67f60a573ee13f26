/*
 * rm_clock.h: the one clock roomcast measures time with.
 */
#ifndef RM_CLOCK_H
#define RM_CLOCK_H

#include <stdint.h>
#include <time.h>

/*
 * Milliseconds on CLOCK_MONOTONIC: for deadlines, rates and heartbeats,
 * which must not jump when the wall clock is set.
 */
static inline int64_t
rm_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
