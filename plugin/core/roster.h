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

/* A room list's last line when it left users out (no user id has '*'). */
#define ROSTER_LIST_MORE "*"

/*
 * @room's distinct users as one text, each followed by '\n', at most
 * CODEC_MEMBERS_MAX of them, then a ROSTER_LIST_MORE line when some were
 * left out: what a clustered process tells the others. Returns a malloc'd
 * NUL-terminated text (length in @len), or NULL on OOM.
 */
char *roster_list(const struct room *room, size_t *len);

/*
 * The `members` answer of a room spread over processes: @members
 * connections in all; the users of the @n_lists lists (roster_list()
 * texts, @lens bytes each, modified: their lines are NUL-ended in place)
 * distinct, named users sorted then guests, limited as roster_encode()'s
 * (and "truncated" when a list was). Returns NULL on OOM.
 */
struct msg *roster_encode_merged(const char *room_id, uint64_t members,
				 char **lists, const size_t *lens,
				 unsigned int n_lists,
				 const struct codec_span *id, size_t max_bytes);

#endif
