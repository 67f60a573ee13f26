/*
 * roster.h: a room's distinct users, for the `members` answer.
 *
 * Kept out of hub.c so the hub only asks for the answer; reads rooms and
 * clients through their public structs. Not thread-safe; service thread
 * only. Knows nothing of lws.
 */
#ifndef ROSTER_H
#define ROSTER_H

#include "codec.h"
#include "rooms.h"

#include <stddef.h>

struct msg;

/*
 * Encodes {"type":"members",...} for @room: "members" its connections,
 * "users" its distinct users (named users sorted, then guests by
 * conn_id), at most CODEC_MEMBERS_MAX and at most what fits in
 * @max_bytes, with "truncated":true when some were left out. @id is the
 * request's id (may be NULL). Returns NULL on OOM.
 */
struct msg *roster_encode(const struct room *room,
			  const struct codec_span *id, size_t max_bytes);

#endif
