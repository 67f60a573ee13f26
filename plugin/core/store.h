/*
 * store.h: rooms' seq, epoch and history kept in SQLite (`history-db`).
 *
 * The event loop never waits for the disk. It only queues work: a
 * broadcast's JSON text (as members receive it, the shared msg's bytes,
 * not a copy), a seq reservation, a room's deletion. A writer thread
 * takes the queue in batches, one transaction per batch, at most
 * STORE_BATCH_MS after the first item of a batch was queued. A full queue
 * drops the message (counted), never blocks; a failing disk costs
 * history, never delivery (the state turns to error and the failures are
 * counted; the loop keeps serving).
 *
 * Ownership of queued bytes: store_put_msg() borrows @bytes until the
 * @token given with them comes back through store_poll_done(), on the
 * loop thread; the caller keeps the bytes alive (a msg reference) till
 * then. So reference counts that are not atomic are only ever touched by
 * the loop.
 *
 * A seq is never given to two messages under one epoch, even across a
 * SIGKILL: see struct store_mark and docs/HISTORY.md.
 *
 * Threading: every function here is for the loop thread only (one
 * thread), except that the writer calls opts.notify from its own thread.
 * SQL runs on the loop only inside store_open() and store_load(), at
 * start. Knows nothing of lws nor of struct msg.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

/* The schema this code writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 1
/* PRAGMA application_id of a roomcast database: "RCST". */
#define STORE_APP_ID 0x52435354

struct store;

struct store_opts {
	unsigned int queue_max;	/* messages queued for the writer; 0: 65536 */
	unsigned int batch_ms;	/* longest wait before a batch; 0: 200 */
	unsigned int batch_max;	/* items per transaction; 0: 4096 */
	uint64_t block;		/* seqs reserved ahead per room; 0: 4096 */
	/* Called from the writer thread when finished items wait (optional). */
	void (*notify)(void *arg);
	void *notify_arg;
};

enum store_state {
	STORE_OK = 0,		/* the last transaction committed */
	STORE_ERROR = 1,	/* the last transaction failed */
};

struct store_stats {
	uint64_t rows_written;	/* message rows committed */
	uint64_t batches;	/* transactions committed */
	uint64_t write_failures;	/* transactions that failed */
	uint64_t rows_failed;	/* message rows lost to a failed transaction */
	uint64_t queue_drops;	/* messages not queued: the queue was full */
	/* messages held: queued, being written, or not yet polled back */
	uint64_t queued;
	uint64_t error_episodes;	/* times the state turned to error */
	enum store_state state;
	int last_error;		/* SQLite's code of the last failure, 0 if none */
};

/* One held message of a loaded room. */
struct store_msg {
	uint64_t seq;
	const char *text;	/* the broadcast's JSON text, not NUL-ended */
	size_t len;
};

/* One room as store_load() found it; everything borrowed for the call. */
struct store_room {
	const char *id;
	const char *epoch;
	uint64_t seq;		/* the room's last seq: the next one is seq + 1 */
	uint64_t durable;	/* seqs up to this are already reserved durably */
	const struct store_msg *msgs;	/* oldest first, increasing seqs */
	unsigned int n_msgs;
	/*
	 * How many of the newest msgs have consecutive seqs ending at @seq:
	 * the ones recovery may replay. Fewer than n_msgs after a SIGKILL
	 * (the seq jumped to the reserved mark: 0) or a dropped write (a hole).
	 */
	unsigned int n_contig;
};

/*
 * Per-room reservation state the loop keeps with its room (zeroed is
 * right for a room whose epoch was just made); see store_mark_check().
 */
struct store_mark {
	uint64_t durable;	/* seqs up to this may be handed out */
	uint64_t pending;	/* a requested mark not known durable, 0: none */
	uint64_t ticket;	/* the request's place in the writer's queue */
};

/*
 * Opens (creating it if absent) the roomcast database at @path, takes an
 * exclusive lock on it for the life of the store, and starts the writer.
 * Returns NULL with a one-line reason naming the file in @err when the
 * file cannot be opened, is not a roomcast database, has a newer schema,
 * or is locked by another process.
 */
struct store *store_open(const char *path, const struct store_opts *opts,
			 char *err, size_t errlen);

/*
 * Calls @cb (if any) once per stored room, messages oldest first, moving
 * each room's durable reservation one block ahead (so the first seqs of
 * this run need no wait). Call once, right after store_open(); what @cb
 * queues (a room's store_mark_check, say) is written after the load.
 * Returns 0, or -1 with a reason in @err (a failed read, or @cb
 * returning nonzero).
 */
int store_load(struct store *s,
	       int (*cb)(void *arg, const struct store_room *room), void *arg,
	       char *err, size_t errlen);

/*
 * Queues message @seq of @room (under @epoch) for writing; the room keeps
 * its newest @keep. Returns 0 when queued: @bytes must stay valid until
 * @token comes back from store_poll_done(). Returns RM_E_FULL (counted in
 * queue_drops), RM_E_NOMEM, or RM_E_INVAL (@len over INT_MAX) when not
 * queued: @token is not kept.
 */
int store_put_msg(struct store *s, const char *room, const char *epoch,
		  uint64_t seq, unsigned int keep, const void *bytes,
		  size_t len, void *token);

/*
 * Queues "@room's numbering under @epoch may reach @mark". A new epoch
 * replaces the room's row and drops its old messages. Never dropped for a
 * full queue. Returns the request's ticket (> 0), or 0 when out of memory.
 */
uint64_t store_reserve(struct store *s, const char *room, const char *epoch,
		       uint64_t mark);

/* Queues the deletion of @room and its messages; 0 or RM_E_NOMEM. */
int store_delete_room(struct store *s, const char *room);

/* The highest ticket whose request is committed: durable from here on. */
uint64_t store_committed(const struct store *s);

/*
 * Whether seq @next of @room under @epoch may be handed out now, asking
 * for the next block when within half a block of the mark. Returns 0 if
 * it may; RM_E_LIMIT if the reservation is not durable yet (the disk is
 * that far behind): the loop must not wait, it starts the room on a new
 * epoch instead (zeroed mark), which no stored seq can clash with.
 */
int store_mark_check(struct store *s, struct store_mark *mk,
		     const char *room, const char *epoch, uint64_t next);

/*
 * Hands every finished item's token to @release (loop thread: the place
 * to drop msg references). Returns how many.
 */
unsigned int store_poll_done(struct store *s, void (*release)(void *token));

/* SQLite's words for a last_error code (for the log). */
const char *store_strerror(int code);

/* A snapshot of the counters. */
void store_get_stats(struct store *s, struct store_stats *st);

/*
 * Writes everything queued, stops the writer, hands every token to
 * @release, closes the database and frees @s. store_close(NULL) is a
 * no-op. Before it, a clean shutdown lowers each room's mark to its last
 * seq with store_reserve() so a restart resumes exactly there.
 */
void store_close(struct store *s, void (*release)(void *token));

#endif
