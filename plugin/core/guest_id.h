/*
 * guest_id.h: reading a guest's user id, "guest-<conn_id>".
 *
 * A connection that never joined with a user_id is called
 * "guest-<conn_id>" (conn_id in decimal, as printf's PRIu64 writes it).
 * The id is a client's string when it names the target of a direct
 * message, so it is read strictly: only the exact text the server
 * writes maps back to a conn_id.
 */
#ifndef GUEST_ID_H
#define GUEST_ID_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads the @len bytes at @s as "guest-" and a decimal number with no
 * sign and no leading zero ("0" alone is read), at most UINT64_MAX, into
 * *@out. Returns 0, or -1 (*@out untouched) for any other text.
 */
int guest_id_parse(const char *s, size_t len, uint64_t *out);

/*
 * Returns 1 if the @len bytes at @s start with "guest-": the server's
 * prefix, which no client may take as its own user_id (PROTOCOL.md v1.1,
 * Identity), whatever follows it.
 */
int guest_id_reserved(const char *s, size_t len);

#endif
