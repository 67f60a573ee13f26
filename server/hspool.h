/*
 * hspool.h: a region of its own for lws's handshake header tables, so a
 * burst of handshakes leaves no holes in the heap of long-lived
 * connection state (see hspool.c).
 */
#ifndef HSPOOL_H
#define HSPOOL_H

/*
 * Reserves the region and installs the allocator hook into lws; call
 * before lws_create_context(). Returns 0, or -1 (lws keeps malloc).
 */
int hspool_install(void);

#endif
