/*
 * hub_history.c: rooms with history, kept after their last member, held
 * within history-bytes, numbered under the store's reservations (see
 * hub_history.h and docs/HISTORY.md).
 */
#include "hub_history.h"
#include "hub_internal.h"
#include "history.h"
#include "msg.h"
#include "rm_err.h"
#include "stats.h"
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BUCKETS 64
/* Finished store items are taken back at least this often (puts). */
#define HIST_POLL_EVERY 256

/* A room's history state: room->data of every room made with history on. */
struct room_hist {
	struct history hs;
	struct hub *h;
	struct room *room;
	char epoch[CODEC_EPOCH_MAX + 1];
	struct store_mark mark;
	int64_t last_ms;	/* last member left, or last message */
	/* the newest held msgs with consecutive seqs ending at room->seq */
	unsigned int contig;
	int kept;		/* no member: on the kept list */
	int write_ok;		/* the store may take the next message */
	int bucket;		/* bytes bucket, -1: holds nothing */
	struct room_hist *aprev, *anext;	/* every room with history */
	struct room_hist *kprev, *knext;	/* kept, longest idle first */
	struct room_hist *bprev, *bnext;	/* same bytes bucket */
};

/*
 * The largest rooms are found without a scan: a room holding b bytes is
 * in bucket floor(log2(b)), and the highest non-empty bucket (a bit in
 * @mask) holds rooms within a factor of two of the largest.
 */
struct hub_hist {
	struct hub_history_conf conf;
	int configured;
	struct store *store;
	size_t bytes;			/* held by all rooms */
	struct room_hist *all;
	struct room_hist *kept_head, *kept_tail;
	unsigned int n_kept;
	struct room_hist *bucket[HIST_BUCKETS];
	uint64_t mask;
	uint64_t epochs;		/* epochs made by this run */
	unsigned int puts;		/* since the last poll */
};

static struct hub_hist *
hh_of(const struct hub *h)
{
	return h->hist;
}

int
hub_history_init(struct hub *h)
{
	struct hub_hist *hh = calloc(1, sizeof(*hh));

	if (!hh)
		return RM_E_NOMEM;
	hh->conf.bytes = 16u << 20;
	hh->conf.ttl_s = 300;
	hh->conf.kept_max = HUB_KEPT_MAX;
	h->hist = hh;
	return RM_OK;
}

void
hub_history_fini(struct hub *h)
{
	free(h->hist);
	h->hist = NULL;
}

int
hub_configure_history(struct hub *h, const struct hub_history_conf *hc)
{
	struct hub_hist *hh = hh_of(h);

	hh->conf = *hc;
	if (!hh->conf.kept_max)
		hh->conf.kept_max = HUB_KEPT_MAX;
	hh->configured = 1;
	return 1;
}

/*---- bytes buckets and history-bytes ----*/

static int
bucket_of(size_t bytes)
{
	return bytes ? 63 - __builtin_clzll((unsigned long long)bytes) : -1;
}

static void
bucket_unlink(struct hub_hist *hh, struct room_hist *rh)
{
	if (rh->bucket < 0)
		return;
	if (rh->bprev)
		rh->bprev->bnext = rh->bnext;
	else
		hh->bucket[rh->bucket] = rh->bnext;
	if (rh->bnext)
		rh->bnext->bprev = rh->bprev;
	if (!hh->bucket[rh->bucket])
		hh->mask &= ~(1ull << rh->bucket);
	rh->bucket = -1;
	rh->bprev = rh->bnext = NULL;
}

/* Files @rh under its held bytes, after they changed by @delta. */
static void
bytes_changed(struct hub_hist *hh, struct room_hist *rh, size_t before)
{
	int b = bucket_of(rh->hs.bytes);

	hh->bytes = hh->bytes - before + rh->hs.bytes;
	rm_stats.history_bytes = hh->bytes;
	if (rh->contig > rh->hs.count)
		rh->contig = rh->hs.count;
	if (b == rh->bucket)
		return;
	bucket_unlink(hh, rh);
	if (b < 0)
		return;
	rh->bucket = b;
	rh->bnext = hh->bucket[b];
	if (rh->bnext)
		rh->bnext->bprev = rh;
	hh->bucket[b] = rh;
	hh->mask |= 1ull << b;
}

/* Our history-bytes policy: the oldest msgs of the largest rooms go. */
static void
evict_over_bytes(struct hub_hist *hh)
{
	struct room_hist *rh;
	size_t before;

	while (hh->conf.bytes && hh->bytes > hh->conf.bytes && hh->mask) {
		rh = hh->bucket[63 - __builtin_clzll(hh->mask)];
		before = rh->hs.bytes;
		history_drop_oldest(&rh->hs);
		bytes_changed(hh, rh, before);
		rm_stats.history_evicted++;
	}
}

/*---- kept rooms ----*/

static void
kept_unlink(struct hub_hist *hh, struct room_hist *rh)
{
	if (!rh->kept)
		return;
	if (rh->kprev)
		rh->kprev->knext = rh->knext;
	else
		hh->kept_head = rh->knext;
	if (rh->knext)
		rh->knext->kprev = rh->kprev;
	else
		hh->kept_tail = rh->kprev;
	rh->kprev = rh->knext = NULL;
	rh->kept = 0;
	hh->n_kept--;
	rm_stats.history_rooms_kept = hh->n_kept;
}

static void
kept_append(struct hub_hist *hh, struct room_hist *rh)
{
	rh->kept = 1;
	rh->knext = NULL;
	rh->kprev = hh->kept_tail;
	if (hh->kept_tail)
		hh->kept_tail->knext = rh;
	else
		hh->kept_head = rh;
	hh->kept_tail = rh;
	hh->n_kept++;
	rm_stats.history_rooms_kept = hh->n_kept;
}

/* Forgets kept room @rh: freed here, and deleted from the store. */
static void
forget(struct hub *h, struct room_hist *rh)
{
	struct hub_hist *hh = hh_of(h);

	kept_unlink(hh, rh);
	if (hh->store)
		store_delete_room(hh->store, rh->room->id);
	if (rooms_free_if_empty(h->rooms, rh->room))
		rm_stats.rooms_active--;
}

/* Keeps @rh's room (no member now); over kept_max the idlest goes. */
static void
keep(struct hub *h, struct room_hist *rh)
{
	struct hub_hist *hh = hh_of(h);

	rh->last_ms = h->now_ms;
	kept_append(hh, rh);
	while (hh->n_kept > hh->conf.kept_max) {
		rm_stats.history_rooms_evicted++;
		forget(h, hh->kept_head);
	}
}

/*---- a room's history state ----*/

static struct room_hist *
hist_new(struct hub *h, struct room *room, unsigned int size)
{
	struct hub_hist *hh = hh_of(h);
	struct room_hist *rh = calloc(1, sizeof(*rh));

	if (!rh)
		return NULL;
	history_init(&rh->hs, size);
	rh->h = h;
	rh->room = room;
	rh->bucket = -1;
	rh->write_ok = 1;
	rh->last_ms = h->now_ms;
	rh->anext = hh->all;
	if (hh->all)
		hh->all->aprev = rh;
	hh->all = rh;
	room->data = rh;
	return rh;
}

/* A new epoch: this run's instance and a count no other room shares. */
static void
new_epoch(struct hub *h, struct room_hist *rh)
{
	struct hub_hist *hh = hh_of(h);

	snprintf(rh->epoch, sizeof(rh->epoch), "%08" PRIx64 ".%" PRIu64,
		 h->instance & 0xffffffffu, ++hh->epochs);
	memset(&rh->mark, 0, sizeof(rh->mark));
}

/* Frees @rh and everything it holds, out of every list. */
static void
hist_free(struct hub_hist *hh, struct room_hist *rh)
{
	size_t before = rh->hs.bytes;

	kept_unlink(hh, rh);
	history_clear(&rh->hs);
	bytes_changed(hh, rh, before);
	bucket_unlink(hh, rh);
	if (rh->aprev)
		rh->aprev->anext = rh->anext;
	else
		hh->all = rh->anext;
	if (rh->anext)
		rh->anext->aprev = rh->aprev;
	free(rh);
}

void
hub_history_room_freed(struct room *room)
{
	struct room_hist *rh = room->data;

	if (!rh)
		return;
	hist_free(hh_of(rh->h), rh);
	room->data = NULL;
}

void
hub_history_room_new(struct hub *h, struct room *room,
		     const struct rconf *conf)
{
	struct hub_hist *hh = hh_of(h);
	unsigned int size = hh->configured ? hh->conf.size :
			    conf->history_size;
	struct room_hist *rh;

	if (!size)
		return;
	rh = hist_new(h, room, size);
	if (rh)		/* OOM: the room just keeps no history */
		new_epoch(h, rh);
}

const struct history *
hub_room_history(const struct room *room)
{
	const struct room_hist *rh = room->data;

	return rh ? &rh->hs : NULL;
}

void
hub_room_epoch(const struct hub *h, const struct room *room, char *buf,
	       size_t len)
{
	const struct room_hist *rh = room->data;

	if (rh)
		snprintf(buf, len, "%s", rh->epoch);
	else
		snprintf(buf, len, "%08" PRIx64 "-%" PRIu64,
			 h->instance & 0xffffffffu, room->generation);
}

/*
 * The room table frees a room with its last member (rooms.h), so a kept
 * room is the same id made again at once, given the state of the old.
 */
int
hub_history_leave(struct hub *h, struct member *mb)
{
	struct room *room = mb->room, *again;
	struct room_hist *rh = room->data;
	struct client *c = mb->client;
	char id[CODEC_ROOM_MAX + 1];
	size_t len = room->id_len;
	uint64_t seq = room->seq;

	if (!rh || room->n_members != 1)
		return 0;
	memcpy(id, room->id, len + 1);
	room->data = NULL;
	rooms_remove_member(h->rooms, mb, &c->rooms);
	again = rooms_get_or_create(h->rooms, id, len);
	if (!again) {
		/* out of memory: the room goes, as it would without history */
		if (hh_of(h)->store)
			store_delete_room(hh_of(h)->store, id);
		rm_stats.rooms_active--;
		hist_free(hh_of(h), rh);
		return 1;
	}
	again->seq = seq;
	again->data = rh;
	rh->room = again;
	keep(h, rh);
	return 1;
}

/*---- joins and recovery ----*/

/*
 * Returns 1 if @joined, the `dropped` notice @c still owes (it goes first)
 * and the newest @n held msgs all fit in @c's ring: a replay the ring
 * would cut is no replay (never a partial one), so the answer is then
 * recovered:false. Counted exactly as sendq_push will count them.
 */
static int
replay_fits(const struct client *c, const struct msg *joined,
	    const struct history *hs, uint64_t n)
{
	size_t bytes = c->q.bytes + msg_frame_len(joined);
	uint64_t count = (uint64_t)c->q.count + 1 + n, i;

	if (c->dropped_pending) {
		bytes += MSG_MAX_FRAME_HDR + 48; /* as queue_notice asks */
		count++;
	}
	if (count > c->q.max_count)
		return 0;
	for (i = 0; i < n && bytes <= c->q.max_bytes; i++)
		bytes += msg_frame_len(history_get(hs, (unsigned int)
						   (hs->count - 1 - i)));
	return bytes <= c->q.max_bytes;
}

/*
 * Answers a join with `joined`, and replays what the joiner missed when it
 * asked (since + epoch) and all of it is still held: PROTOCOL.md promises
 * a whole replay or none, never part of one. Only the newest consecutive
 * held msgs count (after a SIGKILL the seq jumped past a lost range).
 * The answer is made before the fit is judged: its own length counts.
 */
void
hub_history_recover(struct hub *h, struct client *c, struct room *room,
		    const struct codec_cmd *cmd)
{
	struct room_hist *rh = room->data;
	const struct history *hs = rh ? &rh->hs : NULL;
	uint64_t held = rh ? rh->contig : 0, first, i, n;
	char guest[HUB_USER_ID_MAX], epoch[CODEC_EPOCH_MAX + 1];
	const char *user = hub_user_id(c, guest);
	struct msg *joined;
	int ok;

	if (rh && rh->kept && room->n_members)
		kept_unlink(hh_of(h), rh);
	hub_room_epoch(h, room, epoch, sizeof(epoch));
	if (!cmd->has_since && !cmd->epoch) {
		hub_send_state(h, c, codec_encode_joined(room->id, user,
				room->n_members, room->seq, epoch, &cmd->id));
		return;
	}
	ok = cmd->has_since && cmd->epoch && !strcmp(cmd->epoch, epoch) &&
	     cmd->since <= room->seq && cmd->since + held >= room->seq;
	n = ok ? room->seq - cmd->since : 0;
	joined = codec_encode_joined_ex(room->id, user, room->n_members,
					room->seq, epoch, ok, &cmd->id);
	if (joined && n && !replay_fits(c, joined, hs, n)) {
		msg_unref(joined);
		ok = 0;
		n = 0;
		joined = codec_encode_joined_ex(room->id, user, room->n_members,
						room->seq, epoch, 0, &cmd->id);
	}
	hub_send_state(h, c, joined); /* NULL: closed 1011 */
	if (!joined || !n)
		return;
	first = hs->count - n;
	for (i = first; i < hs->count; i++)
		hub_send(h, c, history_get(hs, (unsigned int)i));
}

/*---- numbering and keeping broadcasts ----*/

/*
 * The store's rule (docs/HISTORY.md): a seq above a mark not yet durable
 * is never handed out. The loop may not wait for the disk, so the room
 * starts over on a new epoch, and its members are told first (v1.1).
 */
void
hub_history_next_seq(struct hub *h, struct room *room)
{
	struct hub_hist *hh = hh_of(h);
	struct room_hist *rh = room->data;
	struct msg *notice;
	size_t before;
	int r;

	if (!rh || !hh->store)
		return;
	r = store_mark_check(hh->store, &rh->mark, room->id, rh->epoch,
			     room->seq + 1);
	rh->write_ok = !r;
	if (r != RM_E_LIMIT)
		return;
	new_epoch(h, rh);
	room->seq = 0;
	before = rh->hs.bytes;
	history_clear(&rh->hs);
	bytes_changed(hh, rh, before);
	rm_stats.history_epoch_resets++;
	notice = codec_encode_epoch(room->id, rh->epoch, 0);
	if (notice) {
		hub_deliver(h, room, notice);
		msg_unref(notice);
	}
	rh->write_ok = !store_mark_check(hh->store, &rh->mark, room->id,
					 rh->epoch, 1);
}

static void
release_token(void *token)
{
	msg_unref(token);
}

static void
to_store(struct hub_hist *hh, struct room_hist *rh, struct msg *m)
{
	if (!rh->write_ok)
		return;
	if (store_put_msg(hh->store, rh->room->id, rh->epoch, rh->room->seq,
			  hh->conf.size ? hh->conf.size : rh->hs.cap,
			  msg_text(m), m->payload_len, msg_ref(m)))
		msg_unref(m);
	if (++hh->puts >= HIST_POLL_EVERY) {
		hh->puts = 0;
		store_poll_done(hh->store, release_token);
	}
}

void
hub_history_keep(struct hub *h, struct room *room, struct msg *m)
{
	struct hub_hist *hh = hh_of(h);
	struct room_hist *rh = room->data;
	size_t before;

	if (!rh)
		return;
	before = rh->hs.bytes;
	if (history_push(&rh->hs, m))
		rh->contig = 0;	/* OOM: nothing held, nothing to replay */
	else
		rh->contig++;
	bytes_changed(hh, rh, before);
	rh->last_ms = h->now_ms;
	if (rh->kept) {		/* published with no member: idle no more */
		kept_unlink(hh, rh);
		kept_append(hh, rh);
	}
	if (hh->store)
		to_store(hh, rh, m);
	evict_over_bytes(hh);
}

void
hub_history_tick(struct hub *h, int64_t now_ms)
{
	struct hub_hist *hh = hh_of(h);
	int64_t ttl = (int64_t)hh->conf.ttl_s * 1000;

	h->now_ms = now_ms;
	while (hh->kept_head && hh->kept_head->last_ms + ttl <= now_ms)
		forget(h, hh->kept_head);
	if (hh->store)
		store_poll_done(hh->store, release_token);
}

/*---- rooms without a connection (the server API) ----*/

struct room *
hub_room_open(struct hub *h, const char *id, size_t len)
{
	struct room *room = rooms_find(h->rooms, id, len);
	struct rconf none;

	if (room)
		return room;
	room = rooms_get_or_create(h->rooms, id, len);
	if (!room)
		return NULL;
	rm_stats.rooms_active++;
	rconf_init(&none);	/* unconfigured hub: no history */
	hub_history_room_new(h, room, &none);
	if (room->data)
		keep(h, room->data);
	return room;
}

void
hub_room_done(struct hub *h, struct room *room)
{
	if (!room->data && rooms_free_if_empty(h->rooms, room))
		rm_stats.rooms_active--;
}

/*---- the `history` request ----*/

/*
 * How many of the newest @want held msgs the answer carries: as many as
 * fit in send-ring-bytes. Sized before anything is built, and given up
 * (0, *@fits 0) as soon as it cannot fit in what @c's ring has free now,
 * so a flood of requests into a full ring costs a walk over what fits,
 * never ~1 MB of encoding each.
 */
static unsigned int
history_cut(const struct client *c, const struct history *hs,
	    unsigned int want, size_t head, int *fits)
{
	size_t bytes = head, cap = c->conf->send_ring_bytes;
	size_t room = c->q.count ? (c->q.max_bytes > c->q.bytes ?
				    c->q.max_bytes - c->q.bytes : 0) : SIZE_MAX;
	unsigned int n = 0;

	*fits = c->q.count < c->q.max_count && bytes <= room;
	while (*fits && n < want) {
		size_t one = history_get(hs, hs->count - 1 - n)->payload_len + 1;

		if (bytes + one > cap)
			break;
		bytes += one;
		n++;
		if (bytes > room)
			*fits = 0;
	}
	return n;
}

void
hub_history_on_request(struct hub *h, struct client *c,
		       const struct codec_cmd *cmd)
{
	struct room *room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);
	struct room_hist *rh;
	struct msg **msgs;
	uint64_t want = cmd->limit ? cmd->limit : 100;
	unsigned int n, i;
	int fits = 1;

	if (!room || !rooms_member_of(c->rooms, room)) {
		hub_send_error(h, c, RM_PE_NOT_MEMBER, "not a member of this "
			       "room", cmd);
		return;
	}
	rh = room->data;
	if (!rh || want > rh->hs.count)
		want = rh ? rh->hs.count : 0;
	/* the head: type, id, room_id, "messages", "truncated" */
	n = rh ? history_cut(c, &rh->hs, (unsigned int)want, MSG_MAX_FRAME_HDR
			     + 80 + room->id_len + cmd->id.len, &fits) : 0;
	if (rh && !fits) {
		hub_send_dropped(c);	/* as a full ring does, never built */
		return;
	}
	msgs = malloc((n ? n : 1) * sizeof(*msgs));
	if (!msgs) {
		hub_send_once(h, c, NULL, cmd);	/* overloaded */
		return;
	}
	for (i = 0; i < n; i++)
		msgs[i] = history_get(&rh->hs, rh->hs.count - n + i);
	hub_send_once(h, c, codec_encode_history_ex(room->id, msgs, n,
						     n < want, &cmd->id), cmd);
	free(msgs);
}

/*---- the store: load at start, close at shutdown ----*/

/* One stored room comes back, kept as after its last member left. */
static int
load_room(void *arg, const struct store_room *sr)
{
	struct hub *h = arg;
	struct hub_hist *hh = hh_of(h);
	size_t len = strlen(sr->id), before;
	unsigned int size = hh->conf.size, i, skip;
	struct room_hist *rh;
	struct room *room;

	if (!size || !codec_room_valid(sr->id, len) ||
	    strlen(sr->epoch) >= sizeof(rh->epoch) ||
	    rooms_find(h->rooms, sr->id, len))
		return 0;	/* not a room this server can serve: left */
	room = rooms_get_or_create(h->rooms, sr->id, len);
	if (!room)
		return -1;
	rm_stats.rooms_active++;
	rh = hist_new(h, room, size);
	if (!rh) {
		rooms_free_if_empty(h->rooms, room);
		rm_stats.rooms_active--;
		return -1;
	}
	strcpy(rh->epoch, sr->epoch);
	room->seq = sr->seq;
	rh->mark.durable = sr->durable;
	before = rh->hs.bytes;
	skip = sr->n_msgs > size ? sr->n_msgs - size : 0;
	for (i = skip; i < sr->n_msgs; i++) {
		struct msg *m = msg_from_text(sr->msgs[i].text,
					      sr->msgs[i].len);

		if (!m || history_push(&rh->hs, m)) {
			msg_unref(m);
			history_clear(&rh->hs);	/* no holes in a ring */
			break;
		}
		msg_unref(m);
	}
	rh->contig = sr->n_contig;
	bytes_changed(hh, rh, before);
	keep(h, rh);
	evict_over_bytes(hh);
	return 0;
}

int
hub_history_attach_store(struct hub *h, struct store *s, char *err,
			 size_t errlen)
{
	hh_of(h)->store = s;
	if (store_load(s, load_room, h, err, errlen)) {
		hh_of(h)->store = NULL;
		return -1;
	}
	return 0;
}

void
hub_history_close_store(struct hub *h)
{
	struct hub_hist *hh = hh_of(h);
	struct room_hist *rh;

	if (!hh->store)
		return;
	/* a clean restart resumes at the exact seq: recovery across it works */
	for (rh = hh->all; rh; rh = rh->anext)
		store_reserve(hh->store, rh->room->id, rh->epoch,
			      rh->room->seq);
	store_close(hh->store, release_token);
	hh->store = NULL;
}
