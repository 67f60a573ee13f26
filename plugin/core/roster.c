/*
 * roster.c: a room's distinct users (see roster.h).
 */
#include "roster.h"
#include "hub.h"
#include "hub_internal.h"
#include "msg.h"

#include <stdlib.h>
#include <string.h>

/* Room in an answer for everything but the user list. */
#define ROSTER_HEAD_BYTES 400

/* Named users by user_id, then guests by conn_id (each its own user). */
static int
by_user(const void *a, const void *b)
{
	const struct client *x = *(const struct client *const *)a;
	const struct client *y = *(const struct client *const *)b;

	if (x->user_id && y->user_id)
		return strcmp(x->user_id, y->user_id);
	if (x->user_id || y->user_id)
		return x->user_id ? -1 : 1;
	return x->conn_id < y->conn_id ? -1 : x->conn_id > y->conn_id;
}

/*
 * Sorting the members makes a user's connections neighbours, so one walk
 * keeps each user once: O(n log n) for a room of n connections, with no
 * per-client mark to set and clear.
 */
struct msg *
roster_encode(const struct room *room, const struct codec_span *id,
	      size_t max_bytes)
{
	const struct client **all;
	const char **users = NULL;
	char (*guests)[HUB_USER_ID_MAX] = NULL;
	size_t bytes = ROSTER_HEAD_BYTES + room->id_len;
	unsigned int n = 0, k = 0, i;
	const struct member *mb;
	struct msg *m = NULL;
	int truncated = 0;

	all = malloc((room->n_members ? room->n_members : 1) * sizeof(*all));
	if (!all)
		return NULL;
	for (mb = room->members; mb && n < room->n_members; mb = mb->rnext)
		all[n++] = mb->client;
	qsort(all, n, sizeof(*all), by_user);
	users = malloc((n < CODEC_MEMBERS_MAX ? n + 1 : CODEC_MEMBERS_MAX) *
		       sizeof(*users));
	guests = malloc((n < CODEC_MEMBERS_MAX ? n + 1 : CODEC_MEMBERS_MAX) *
			sizeof(*guests));
	if (!users || !guests)
		goto bail;
	for (i = 0; i < n; i++) {
		const char *u;

		if (i && all[i]->user_id && all[i - 1]->user_id &&
		    !strcmp(all[i]->user_id, all[i - 1]->user_id))
			continue;
		if (k == CODEC_MEMBERS_MAX) {
			truncated = 1;
			break;
		}
		u = hub_user_id(all[i], guests[k]);
		bytes += strlen(u) + 3;	/* quotes and comma */
		if (bytes > max_bytes) {
			truncated = 1;
			break;
		}
		users[k++] = u;
	}
	m = codec_encode_members(room->id, room->n_members, users, k,
				 truncated, id);
bail:
	free(guests);
	free(users);
	free(all);
	return m;
}
