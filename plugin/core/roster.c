/*
 * roster.c: a room's distinct users (see roster.h).
 */
#include "roster.h"
#include "codec.h"
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

/* A room's members sorted by user: a user's connections neighbours. */
static const struct client **
sorted_members(const struct room *room, unsigned int *n)
{
	const struct client **all;
	const struct member *mb;

	all = malloc((room->n_members ? room->n_members : 1) * sizeof(*all));
	if (!all)
		return NULL;
	*n = 0;
	for (mb = room->members; mb && *n < room->n_members; mb = mb->rnext)
		all[(*n)++] = mb->client;
	qsort(all, *n, sizeof(*all), by_user);
	return all;
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
	struct msg *m = NULL;
	int truncated = 0;

	all = sorted_members(room, &n);
	if (!all)
		return NULL;
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

char *
roster_list(const struct room *room, size_t *len)
{
	const struct client **all;
	char guest[HUB_USER_ID_MAX], *out = NULL;
	unsigned int n = 0, k = 0, i;
	size_t at = 0;

	all = sorted_members(room, &n);
	if (!all)
		return NULL;
	out = malloc((size_t)(n < CODEC_MEMBERS_MAX ? n : CODEC_MEMBERS_MAX) *
			     (HUB_USER_ID_MAX + 1) +
		     3);
	if (!out)
		goto bail;
	for (i = 0; i < n; i++) {
		const char *u;
		size_t ulen;

		if (i && all[i]->user_id && all[i - 1]->user_id &&
		    !strcmp(all[i]->user_id, all[i - 1]->user_id))
			continue;
		if (k++ == CODEC_MEMBERS_MAX) {
			memcpy(out + at, ROSTER_LIST_MORE "\n", 2);
			at += 2;
			break;
		}
		u = hub_user_id(all[i], guest);
		ulen = strlen(u);
		memcpy(out + at, u, ulen);
		out[at + ulen] = '\n';
		at += ulen + 1;
	}
	out[at] = '\0';
	*len = at;
bail:
	free(all);
	return out;
}

/*
 * Named users by id, then guests by conn_id, as by_user(): the server
 * writes conn_ids without leading zeros, so the shorter is the smaller
 * (a cluster's ids differ in length: node << 32).
 */
static int
by_name(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int gx = !strncmp(x, "guest-", 6), gy = !strncmp(y, "guest-", 6);
	size_t lx = strlen(x), ly = strlen(y);

	if (gx != gy)
		return gx - gy;
	if (gx && lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x, y);
}

/*
 * Adds @list's lines to @users (NUL-ending them in place). The lists come
 * from Redis: a line that is no user id (a damaged or foreign value) is
 * left out, so the answer stays valid JSON with ids a client could send.
 */
static void
take_list(char *list, size_t len, const char **users, unsigned int *n,
	  unsigned int max, int *truncated)
{
	char *p = list, *end = list + len, *nl;

	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p)));
	     p = nl + 1) {
		*nl = '\0';
		if (!strcmp(p, ROSTER_LIST_MORE))
			*truncated = 1;
		else if (*n < max && codec_user_valid(p, (size_t)(nl - p)))
			users[(*n)++] = p;
	}
}

struct msg *
roster_encode_merged(const char *room_id, uint64_t members, char **lists,
		     const size_t *lens, unsigned int n_lists,
		     const struct codec_span *id, size_t max_bytes)
{
	size_t bytes = ROSTER_HEAD_BYTES + strlen(room_id), total = 0;
	const char **users;
	unsigned int n = 0, k = 0, i;
	int truncated = 0;
	struct msg *m;

	for (i = 0; i < n_lists; i++)
		total += lens[i] / 2 + 1; /* at most one user per 2 bytes */
	users = malloc((total ? total : 1) * sizeof(*users));
	if (!users)
		return NULL;
	for (i = 0; i < n_lists; i++)
		take_list(lists[i], lens[i], users, &n, (unsigned int)total,
			  &truncated);
	qsort(users, n, sizeof(*users), by_name);
	for (i = 0; i < n; i++) {
		if (i && !strcmp(users[i], users[i - 1]))
			continue;
		bytes += strlen(users[i]) + 3; /* quotes and comma */
		if (k == CODEC_MEMBERS_MAX || bytes > max_bytes) {
			truncated = 1;
			break;
		}
		users[k++] = users[i];
	}
	m = codec_encode_members(room_id, members, users, k, truncated, id);
	free(users);
	return m;
}
