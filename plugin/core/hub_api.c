/*
 * hub_api.c: the hub's side of the server API (see hub_api.h): publishes
 * through the accept/deliver seam, direct messages, disconnects, and the
 * rooms and history answers.
 */
#include "hub_api.h"
#include "hub_history.h"
#include "hub_internal.h"
#include "history.h"
#include "msg.h"
#include "rm_err.h"
#include "roster.h"
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
hub_publish(struct hub *h, const char *room_id, const char *sender,
	    const char *content, size_t content_len, const char *idem_key,
	    size_t idem_len, int64_t now_ms, struct hub_pub_result *out)
{
	struct idem_result first;
	struct room *room;
	struct msg *m;

	memset(out, 0, sizeof(*out));
	if (idem_key && !h->idem) {
		h->idem = idem_create(IDEM_MAX_KEYS);
		if (!h->idem)
			return RM_E_NOMEM;
	}
	if (idem_key && idem_find(h->idem, room_id, idem_key, idem_len,
				  now_ms, &first)) {
		out->seq = first.seq;
		memcpy(out->epoch, first.epoch, sizeof(out->epoch));
		out->repeated = 1;
		return RM_OK;
	}
	room = hub_room_open(h, room_id, strlen(room_id));
	if (!room)
		return RM_E_NOMEM;
	m = hub_accept_broadcast(h, room, sender, content, content_len);
	if (!m) {
		hub_room_done(h, room);
		return RM_E_NOMEM;
	}
	/* counted as a member's broadcast is: one message received */
	rm_stats.messages_received++;
	hub_history_keep(h, room, m);
	hub_deliver(h, room, m);
	msg_unref(m);
	out->seq = room->seq;
	hub_room_epoch(h, room, out->epoch, sizeof(out->epoch));
	hub_room_done(h, room);
	if (idem_key) {
		_Static_assert(sizeof(first.epoch) == sizeof(out->epoch),
			       "an idempotent result holds the whole epoch");
		first.seq = out->seq;
		memcpy(first.epoch, out->epoch, sizeof(first.epoch));
		/* OOM: the key is not kept, the message is still sent */
		idem_put(h->idem, room_id, idem_key, idem_len, &first, now_ms);
	}
	return RM_OK;
}

/* The open connection whose guest id is @id ("guest-<conn_id>"), or NULL. */
static struct client *
guest_of(struct hub *h, const char *id)
{
	return hub_find_guest(h, id, strlen(id));
}

int
hub_api_direct(struct hub *h, const char *from, const char *to,
	       const char *content, size_t content_len)
{
	struct room *u = rooms_find(h->users, to, strlen(to));
	struct client *guest = u ? NULL : guest_of(h, to);
	struct member *mb;
	struct msg *m;
	int n = 0;

	if (!u && !guest)
		return 0;
	m = codec_encode_direct(from, content, content_len);
	if (!m)
		return RM_E_NOMEM;
	rm_stats.messages_received++;
	if (guest && !guest->closing) {
		hub_send(h, guest, m);
		n++;
	}
	for (mb = u ? u->members : NULL; mb; mb = mb->rnext) {
		struct client *c = mb->client;

		if (c->closing)
			continue;
		hub_send(h, c, m);
		n++;
	}
	msg_unref(m);
	return n;
}

static unsigned int
close_one(struct hub *h, struct client *c)
{
	if (c->closing)
		return 0;
	c->closing = 1;
	h->ops->close(c->owner, HUB_CLOSE_API_DISCONNECT);
	return 1;
}

unsigned int
hub_api_disconnect(struct hub *h, const char *user_id)
{
	struct room *u = rooms_find(h->users, user_id, strlen(user_id));
	struct client *guest = u ? NULL : guest_of(h, user_id);
	struct member *mb;
	unsigned int n = 0;

	if (guest)
		return close_one(h, guest);
	for (mb = u ? u->members : NULL; mb; mb = mb->rnext)
		n += close_one(h, mb->client);
	return n;
}

/*
 * Turns a sealed {"type":T,REST} message into a malloc'd {@front,REST}:
 * the API answers hold what the WebSocket answers hold, less their type.
 */
static char *
reshape(struct msg *m, const char *front, size_t *len)
{
	const char *text = msg_text(m), *rest;
	size_t flen = strlen(front), rlen;
	char *out;

	rest = strchr(text, ',');	/* after "type":"members" */
	if (!rest || rest - text > 24)
		return NULL;
	rest++;
	rlen = m->payload_len - (size_t)(rest - text);
	out = malloc(1 + flen + rlen + 1);
	if (!out)
		return NULL;
	out[0] = '{';
	memcpy(out + 1, front, flen);
	memcpy(out + 1 + flen, rest, rlen);
	out[1 + flen + rlen] = '\0';
	*len = 1 + flen + rlen;
	return out;
}

char *
hub_api_room_text(uint64_t seq, const char *epoch, struct msg *members,
		  size_t *len)
{
	char front[128];

	snprintf(front, sizeof(front), "\"seq\":%" PRIu64 ",\"epoch\":\"%s\",",
		 seq, epoch);
	return reshape(members, front, len);
}

char *
hub_api_room(struct hub *h, const char *room_id, size_t max_bytes,
	     size_t *len, int *found)
{
	struct room *room = hub_room(h, room_id);
	char epoch[IDEM_EPOCH_MAX];
	struct msg *m;
	char *out;

	*found = room != NULL;
	if (!room)
		return NULL;
	hub_room_epoch(h, room, epoch, sizeof(epoch));
	m = roster_encode(room, NULL, max_bytes);
	if (!m)
		return NULL;
	out = hub_api_room_text(room->seq, epoch, m, len);
	msg_unref(m);
	return out;
}

char *
hub_api_history_text(const char *room_id, const char *epoch,
		     struct msg *const *msgs, unsigned int n, size_t *len)
{
	struct msg *m = codec_encode_history(room_id, msgs, n, NULL);
	char front[96];
	char *out;

	if (!m)
		return NULL;
	snprintf(front, sizeof(front), "\"epoch\":\"%s\",", epoch);
	out = reshape(m, front, len);
	msg_unref(m);
	return out;
}

char *
hub_api_history(struct hub *h, const char *room_id, uint64_t limit,
		size_t *len, int *found)
{
	struct room *room = hub_room(h, room_id);
	const struct history *hs;
	char epoch[IDEM_EPOCH_MAX];
	struct msg **msgs = NULL;
	unsigned int n = 0, i;
	char *out;

	*found = room != NULL;
	if (!room)
		return NULL;
	hs = hub_room_history(room);
	if (!limit)
		limit = 100;
	if (hs && hs->count)
		n = limit < hs->count ? (unsigned int)limit : hs->count;
	if (n) {
		msgs = malloc(n * sizeof(*msgs));
		if (!msgs)
			return NULL;
		for (i = 0; i < n; i++)
			msgs[i] = history_get(hs, hs->count - n + i);
	}
	hub_room_epoch(h, room, epoch, sizeof(epoch));
	out = hub_api_history_text(room->id, epoch, msgs, n, len);
	free(msgs);
	return out;
}

void
hub_api_sweep(struct hub *h, int64_t now_ms)
{
	if (h->idem)
		idem_sweep(h->idem, now_ms);
}

unsigned int
hub_api_idem_count(const struct hub *h)
{
	return h->idem ? idem_count(h->idem) : 0;
}
