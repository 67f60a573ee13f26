/*
 * hspool.h: a region of its own for lws's handshake header tables, so a
 * burst of handshakes leaves no holes in the heap of long-lived
 * connection state (see hspool.c).
 */
#ifndef HSPOOL_H
#define HSPOOL_H

/* The largest header table the pool holds; larger ones go to malloc. */
#define HSPOOL_SLOT_MAX 16384u

/*
 * Installs the allocator hook into lws (it also trims rx buffers,
 * rxread.h) and, if @pool_tables, reserves the region for header tables;
 * call before lws_create_context(). Returns 0, or -1 when the region
 * could not be reserved (header tables then stay in malloc's heap).
 */
int hspool_install(int pool_tables);

#endif
