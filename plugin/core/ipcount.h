/*
 * ipcount.h: open connections per client, for max-connections-per-ip.
 *
 * A table of client -> count. ipcount_take() counts one more connection
 * and returns its entry; ipcount_put() gives it back, and the entry is
 * freed with its last connection, so memory follows the clients
 * connected now.
 *
 * A client is an IPv4 address, or the first @v6_prefix bits of an IPv6
 * address: one subscriber is given a whole /64 (or more), so counting
 * full IPv6 addresses would let one machine open 2^64 "clients". An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket
 * reports IPv4 peers) counts as its IPv4 address. Text that is neither
 * (a unix socket's "", a scoped "fe80::1%eth0") counts as itself.
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

/*
 * Connections counted now for @addr's client, IPv6 addresses taken by
 * their first @v6_prefix bits (clamped to 0..128).
 */
unsigned int ipcount_get(const struct ipcount *t, const char *addr,
			 unsigned int v6_prefix);

/*
 * Counts one more connection from @addr's client (as ipcount_get reads
 * it). Returns its entry, NULL on OOM.
 */
struct ipcount_entry *ipcount_take(struct ipcount *t, const char *addr,
				   unsigned int v6_prefix);

/* Uncounts a connection taken with ipcount_take(). NULL is a no-op. */
void ipcount_put(struct ipcount *t, struct ipcount_entry *e);

#endif
