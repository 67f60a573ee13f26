/*
 * ipcount.h: open connections per client address, for
 * max-connections-per-ip.
 *
 * A table of address -> count. ipcount_take() counts one more connection
 * and returns its entry; ipcount_put() gives it back, and the entry is
 * freed with its last connection, so memory follows the addresses
 * connected now.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef IPCOUNT_H
#define IPCOUNT_H

struct ipcount;
struct ipcount_entry;

/* Creates an empty table; NULL on OOM. */
struct ipcount *ipcount_create(void);

/* Frees the table; entries still taken become invalid. */
void ipcount_destroy(struct ipcount *t);

/* Connections counted for @addr now. */
unsigned int ipcount_get(const struct ipcount *t, const char *addr);

/* Counts one more connection from @addr. Returns its entry, NULL on OOM. */
struct ipcount_entry *ipcount_take(struct ipcount *t, const char *addr);

/* Uncounts a connection taken with ipcount_take(). NULL is a no-op. */
void ipcount_put(struct ipcount *t, struct ipcount_entry *e);

#endif
