/*
 * store.c: rooms' seq, epoch and history in SQLite, written by a thread
 * of its own (see store.h and docs/HISTORY.md).
 *
 * The loop appends items to a FIFO under a mutex; the writer takes up to
 * batch_max of them at a time and runs them in one transaction. Finished
 * items go to a "done" list that the loop drains (store_poll_done), so
 * their tokens (msg references) are released on the loop thread only.
 * Control items (reservations, deletions) are never dropped: a failed
 * transaction puts them back at the head of the queue, in order, and the
 * writer retries them; messages of a failed transaction are lost and
 * counted. Tickets number the control items, so store_committed() tells
 * the loop which reservations are durable.
 */
#include "store.h"
#include "rm_err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

enum item_kind { ITEM_MSG, ITEM_RESERVE, ITEM_DELETE };

struct item {
	struct item *next;
	enum item_kind kind;
	uint64_t seq;		/* a message's seq, a reservation's mark */
	uint64_t ticket;	/* control items only */
	unsigned int keep;
	const void *bytes;	/* borrowed until the token is released */
	size_t len;
	void *token;
	const char *epoch;	/* in str, after the room; NULL for deletes */
	char room[];
};

enum stmt_id {
	ST_MSG_PUT, ST_MSG_TRIM, ST_RES_CLEAR, ST_RES_PUT, ST_DEL_MSGS,
	ST_DEL_ROOM, ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	/* a message of an epoch the room no longer has is not written */
	[ST_MSG_PUT] = "INSERT OR REPLACE INTO msg(room, seq, body) "
		"SELECT ?1, ?2, ?3 WHERE EXISTS "
		"(SELECT 1 FROM room WHERE id = ?1 AND epoch = ?4)",
	[ST_MSG_TRIM] = "DELETE FROM msg WHERE room = ?1 AND seq <= ?2",
	[ST_RES_CLEAR] = "DELETE FROM msg WHERE room = ?1 AND NOT EXISTS "
		"(SELECT 1 FROM room WHERE id = ?1 AND epoch = ?2)",
	[ST_RES_PUT] = "INSERT INTO room(id, epoch, seq_reserved) "
		"VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET "
		"epoch = excluded.epoch, seq_reserved = excluded.seq_reserved",
	[ST_DEL_MSGS] = "DELETE FROM msg WHERE room = ?1",
	[ST_DEL_ROOM] = "DELETE FROM room WHERE id = ?1",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	int lock_fd;
	struct store_opts o;

	pthread_t thread;
	int thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	struct item *q_head, **q_tail;
	unsigned int q_items;
	struct timespec q_since;	/* when the queue became non-empty */
	struct item *done_head, **done_tail;
	int stopping;
	int loading;			/* store_load() has the connection */
	struct store_stats st;

	uint64_t next_ticket;		/* loop only */
	_Atomic uint64_t committed;
};

/* ---- helpers ---- */

static void
ts_add_ms(struct timespec *ts, unsigned int ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Runs @sql that returns no rows; returns SQLite's code. */
static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* The first column of the one-row @sql as an integer, or -1 with @rc set. */
static int64_t
query_int(sqlite3 *db, const char *sql, int *rc)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	*rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (*rc != SQLITE_OK)
		return -1;
	*rc = sqlite3_step(st);
	if (*rc == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		*rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return v;
}

/* ---- opening: the lock, the identity checks, the schema ---- */

static const char schema_sql[] =
	"CREATE TABLE room ("
	" id TEXT PRIMARY KEY,"
	" epoch TEXT NOT NULL,"
	" seq_reserved INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE msg ("
	" room TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" body TEXT NOT NULL,"
	" PRIMARY KEY (room, seq)"
	") WITHOUT ROWID;";

/* Creates the schema in an empty database; returns SQLite's code. */
static int
create_schema(sqlite3 *db)
{
	char sql[128];
	int rc;

	rc = exec(db, "BEGIN IMMEDIATE");
	if (rc == SQLITE_OK)
		rc = exec(db, schema_sql);
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d;"
			 "PRAGMA user_version = %d", STORE_APP_ID,
			 STORE_SCHEMA_VERSION);
		rc = exec(db, sql);
	}
	if (rc == SQLITE_OK)
		return exec(db, "COMMIT");
	exec(db, "ROLLBACK");
	return rc;
}

/*
 * Checks that @db is empty or roomcast's with a schema this code knows.
 * Returns 1 if roomcast's, 0 if empty, or -1 with the reason in @err.
 */
static int
check_identity(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int64_t app, ver, tables;
	int rc;

	app = query_int(db, "PRAGMA application_id", &rc);
	if (rc == SQLITE_OK)
		ver = query_int(db, "PRAGMA user_version", &rc);
	if (rc == SQLITE_OK)
		tables = query_int(db, "SELECT count(*) FROM sqlite_master", &rc);
	if (rc != SQLITE_OK) {
		rm_seterr(err, errlen, "history-db %s: %s", path,
			  rc == SQLITE_NOTADB ? "not an SQLite database" :
						sqlite3_errstr(rc));
		return -1;
	}
	if (app == 0 && tables == 0)
		return 0;	/* empty: made ours after the journal mode */
	if (app != STORE_APP_ID) {
		rm_seterr(err, errlen,
			  "history-db %s: not a roomcast database "
			  "(application_id %lld)",
			  path, (long long)app);
		return -1;
	}
	if (ver > STORE_SCHEMA_VERSION) {
		rm_seterr(err, errlen,
			  "history-db %s: schema version %lld is "
			  "newer than this server's (%d)",
			  path, (long long)ver, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (ver != STORE_SCHEMA_VERSION) {
		rm_seterr(err, errlen,
			  "history-db %s: unknown schema version "
			  "%lld",
			  path, (long long)ver);
		return -1;
	}
	return 1;
}

/*
 * Sets up the connection: exclusive locking (no -shm file, and no other
 * process may read or write while we run), the identity check before
 * anything is changed, then WAL with synchronous=NORMAL (a commit is in
 * the OS once it returns: a process kill loses nothing committed; only a
 * power loss may lose the last commits, and never corrupts the file).
 */
static int
setup_db(struct store *s, const char *path, char *err, size_t errlen)
{
	int rc, known, i;
	int64_t mode;

	rc = exec(s->db, "PRAGMA locking_mode = EXCLUSIVE");
	if (rc == SQLITE_OK)
		sqlite3_busy_timeout(s->db, 0);
	known = check_identity(s->db, path, err, errlen);
	if (known < 0)
		return -1;
	rc = exec(s->db, "PRAGMA journal_mode = WAL");
	if (rc == SQLITE_OK)
		rc = exec(s->db, "PRAGMA synchronous = NORMAL");
	if (rc == SQLITE_OK && !known)
		rc = create_schema(s->db);
	mode = rc == SQLITE_OK ? query_int(s->db, "SELECT count(*) FROM "
			"pragma_journal_mode WHERE journal_mode = 'wal'", &rc) : 0;
	if (rc == SQLITE_OK && mode != 1)
		rc = SQLITE_CANTOPEN;
	for (i = 0; rc == SQLITE_OK && i < ST_COUNT; i++)
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT,
					&s->stmt[i], NULL);
	if (rc != SQLITE_OK) {
		rm_seterr(err, errlen, "history-db %s: %s", path,
			  rc == SQLITE_BUSY ? "locked by another process" :
					      sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

static void *writer_main(void *arg);

static void
opts_defaults(struct store_opts *o, const struct store_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->queue_max)
		o->queue_max = 65536;
	if (!o->batch_ms)
		o->batch_ms = 200;
	if (!o->batch_max)
		o->batch_max = 4096;
	if (!o->block)
		o->block = 4096;
}

/* Opens @path and takes the process-lifetime lock; 0 or -1 with @err. */
static int
lock_file(struct store *s, const char *path, char *err, size_t errlen)
{
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0) {
		rm_seterr(err, errlen, "history-db %s: cannot open: %s", path,
			  strerror(errno));
		return -1;
	}
	/*
	 * flock() locks the open file description, not the process's POSIX
	 * locks that SQLite uses, so the two do not interfere; a second
	 * server on the same file fails here, before touching it.
	 */
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
		rm_seterr(err, errlen, "history-db %s: %s", path,
			  errno == EWOULDBLOCK ? "locked by another process" :
						 strerror(errno));
		return -1;
	}
	return 0;
}

struct store *
store_open(const char *path, const struct store_opts *opts, char *err,
	   size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	int rc;

	if (!s) {
		rm_seterr(err, errlen, "history-db %s: out of memory", path);
		return NULL;
	}
	opts_defaults(&s->o, opts);
	s->q_tail = &s->q_head;
	s->done_tail = &s->done_head;
	s->lock_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	/* the batch timer must not jump with the wall clock */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (lock_file(s, path, err, errlen))
		goto bail;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		rm_seterr(err, errlen, "history-db %s: cannot open: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto bail;
	}
	if (setup_db(s, path, err, errlen))
		goto bail;
	if (pthread_create(&s->thread, NULL, writer_main, s)) {
		rm_seterr(err, errlen,
			  "history-db %s: cannot start the writer "
			  "thread",
			  path);
		goto bail;
	}
	s->thread_started = 1;
	return s;
bail:
	store_close(s, NULL);
	return NULL;
}

/* ---- loading ---- */

/* Grows @msgs to hold @n + 1; returns 0 or -1 on OOM. */
static int
msgs_grow(struct store_msg **msgs, unsigned int *cap, unsigned int n)
{
	struct store_msg *m;
	unsigned int ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	m = realloc(*msgs, ncap * sizeof(*m));
	if (!m)
		return -1;
	*msgs = m;
	*cap = ncap;
	return 0;
}

/*
 * Reads @r's messages, oldest first, into @msgs (borrowing the text
 * from @st, valid until its next step or reset) and calls @cb.
 */
static int
load_room(sqlite3_stmt *st, struct store_room *r, struct store_msg **msgs,
	  unsigned int *cap, int (*cb)(void *, const struct store_room *),
	  void *arg)
{
	unsigned int n = 0;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	/* a row's text lives only until the next step: each is copied */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		char *copy;

		if (msgs_grow(msgs, cap, n) || !(copy = malloc(len ? len : 1)))
			goto bail_nomem;
		memcpy(copy, t, len);
		(*msgs)[n].seq = (uint64_t)sqlite3_column_int64(st, 0);
		(*msgs)[n].text = copy;
		(*msgs)[n].len = (size_t)len;
		n++;
	}
	r->msgs = *msgs;
	r->n_msgs = n;
	r->n_contig = 0;
	while (r->n_contig < n &&
	       (*msgs)[n - 1 - r->n_contig].seq == r->seq - r->n_contig)
		r->n_contig++;
	if (rc == SQLITE_DONE)
		rc = cb && cb(arg, r) ? SQLITE_ABORT : SQLITE_OK;
	while (n)
		free((char *)(*msgs)[--n].text);
	return rc;
bail_nomem:
	while (n)
		free((char *)(*msgs)[--n].text);
	return SQLITE_NOMEM;
}

/* Walks the rooms, calling @cb for each; returns SQLite's code. */
static int
load_rooms(struct store *s, int (*cb)(void *, const struct store_room *),
	   void *arg)
{
	sqlite3_stmt *rooms = NULL, *msgs = NULL;
	struct store_msg *buf = NULL;
	unsigned int cap = 0;
	struct store_room r;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT id, epoch, seq_reserved FROM "
				"room ORDER BY id", -1, &rooms, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "SELECT seq, body FROM msg "
					"WHERE room = ?1 ORDER BY seq", -1,
					&msgs, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(rooms)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = (const char *)sqlite3_column_text(rooms, 0);
		r.epoch = (const char *)sqlite3_column_text(rooms, 1);
		r.seq = (uint64_t)sqlite3_column_int64(rooms, 2);
		r.durable = r.seq + s->o.block;
		rc = load_room(msgs, &r, &buf, &cap, cb, arg);
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	free(buf);
	sqlite3_finalize(msgs);
	sqlite3_finalize(rooms);
	return rc;
}

int
store_load(struct store *s, int (*cb)(void *arg, const struct store_room *),
	   void *arg, char *err, size_t errlen)
{
	char sql[96];
	int rc;

	/*
	 * On load, a room's seq is its reserved mark: every seq that may
	 * have been sent before a SIGKILL is at most that. The next block is
	 * reserved in the same transaction, before any seq of this run is
	 * handed out.
	 */
	snprintf(sql, sizeof(sql), "UPDATE room SET seq_reserved = "
		 "seq_reserved + %llu", (unsigned long long)s->o.block);
	/* what @cb queues waits: the writer uses the connection after us */
	pthread_mutex_lock(&s->mu);
	s->loading = 1;
	pthread_mutex_unlock(&s->mu);
	rc = exec(s->db, "BEGIN IMMEDIATE");
	if (rc == SQLITE_OK)
		rc = load_rooms(s, cb, arg);
	if (rc == SQLITE_OK)
		rc = exec(s->db, sql);
	if (rc == SQLITE_OK)
		rc = exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		rm_seterr(err, errlen, "history-db %s: load: %s",
			  sqlite3_db_filename(s->db, "main"),
			  rc == SQLITE_ABORT ? "refused by the caller" :
					       sqlite3_errstr(rc));
		exec(s->db, "ROLLBACK");
	}
	pthread_mutex_lock(&s->mu);
	s->loading = 0;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return rc == SQLITE_OK ? 0 : -1;
}

/* ---- the loop's side of the queue ---- */

/* A new item for @room (and @epoch, if any), or NULL on OOM. */
static struct item *
item_new(enum item_kind kind, const char *room, const char *epoch)
{
	size_t rl = strlen(room) + 1, el = epoch ? strlen(epoch) + 1 : 0;
	struct item *it = malloc(sizeof(*it) + rl + el);

	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	memcpy(it->room, room, rl);
	if (epoch) {
		memcpy(it->room + rl, epoch, el);
		it->epoch = it->room + rl;
	}
	return it;
}

/* Appends @it (mu held); wakes the writer when it has work to start. */
static void
enqueue_locked(struct store *s, struct item *it)
{
	if (!s->q_head) {
		clock_gettime(CLOCK_MONOTONIC, &s->q_since);
		pthread_cond_signal(&s->cv);
	}
	*s->q_tail = it;
	s->q_tail = &it->next;
	if (++s->q_items == s->o.batch_max)
		pthread_cond_signal(&s->cv);
}

int
store_put_msg(struct store *s, const char *room, const char *epoch,
	      uint64_t seq, unsigned int keep, const void *bytes, size_t len,
	      void *token)
{
	struct item *it;

	if (len > INT_MAX)
		return RM_E_INVAL;	/* SQLite binds an int length */
	/* allocated outside the lock: the writer never waits for malloc */
	it = item_new(ITEM_MSG, room, epoch);
	if (!it)
		return RM_E_NOMEM;
	it->seq = seq;
	it->keep = keep;
	it->bytes = bytes;
	it->len = len;
	it->token = token;
	pthread_mutex_lock(&s->mu);
	if (s->st.queued >= s->o.queue_max) {
		s->st.queue_drops++;
		pthread_mutex_unlock(&s->mu);
		free(it);
		return RM_E_FULL;
	}
	s->st.queued++;
	enqueue_locked(s, it);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Queues control item @it with the next ticket; returns the ticket. */
static uint64_t
enqueue_control(struct store *s, struct item *it)
{
	it->ticket = ++s->next_ticket;
	pthread_mutex_lock(&s->mu);
	enqueue_locked(s, it);
	pthread_mutex_unlock(&s->mu);
	return it->ticket;
}

uint64_t
store_reserve(struct store *s, const char *room, const char *epoch,
	      uint64_t mark)
{
	struct item *it = item_new(ITEM_RESERVE, room, epoch);

	if (!it)
		return 0;
	it->seq = mark;
	return enqueue_control(s, it);
}

int
store_delete_room(struct store *s, const char *room)
{
	struct item *it = item_new(ITEM_DELETE, room, NULL);

	if (!it)
		return RM_E_NOMEM;
	enqueue_control(s, it);
	return 0;
}

uint64_t
store_committed(const struct store *s)
{
	return atomic_load_explicit(&s->committed, memory_order_acquire);
}

int
store_mark_check(struct store *s, struct store_mark *mk, const char *room,
		 const char *epoch, uint64_t next)
{
	uint64_t t, mark;

	if (mk->pending && store_committed(s) >= mk->ticket) {
		mk->durable = mk->pending;
		mk->pending = 0;
	}
	if (!mk->durable) {
		/*
		 * A new epoch: until a row with it is committed, no restart can
		 * bring it back, and the first row committed carries at least
		 * this mark. So its seqs up to the mark are safe at once.
		 */
		mark = next - 1 + s->o.block;
		if (!store_reserve(s, room, epoch, mark))
			return RM_E_NOMEM;
		mk->durable = mark;
	}
	if (!mk->pending && next + s->o.block / 2 > mk->durable) {
		mark = (next - 1 > mk->durable ? next - 1 : mk->durable) +
		       s->o.block;
		t = store_reserve(s, room, epoch, mark);
		if (t) {
			mk->pending = mark;
			mk->ticket = t;
		}
	}
	return next <= mk->durable ? 0 : RM_E_LIMIT;
}

unsigned int
store_poll_done(struct store *s, void (*release)(void *token))
{
	struct item *it, *next;
	unsigned int n = 0;

	pthread_mutex_lock(&s->mu);
	it = s->done_head;
	s->done_head = NULL;
	s->done_tail = &s->done_head;
	pthread_mutex_unlock(&s->mu);
	for (; it; it = next) {
		next = it->next;
		if (it->kind == ITEM_MSG) {
			if (release)
				release(it->token);
			n++;
		}
		free(it);
	}
	if (n) {
		pthread_mutex_lock(&s->mu);
		s->st.queued -= n;
		pthread_mutex_unlock(&s->mu);
	}
	return n;
}

const char *
store_strerror(int code)
{
	return code ? sqlite3_errstr(code) : "no error";
}

void
store_get_stats(struct store *s, struct store_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}

/* ---- the writer thread ---- */

/* Runs prepared statement @id, bound already; returns SQLite's code. */
static int
step(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->stmt[id];
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Writes message @it and trims its room; counts the row in @rows. */
static int
write_msg(struct store *s, const struct item *it, uint64_t *rows)
{
	sqlite3_stmt *st = s->stmt[ST_MSG_PUT];
	int rc;

	sqlite3_bind_text(st, 1, it->room, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)it->seq);
	sqlite3_bind_text(st, 3, it->bytes, (int)it->len, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, it->epoch, -1, SQLITE_STATIC);
	rc = step(s, ST_MSG_PUT);
	if (rc != SQLITE_OK)
		return rc;
	*rows += (uint64_t)sqlite3_changes(s->db);
	if (it->seq <= it->keep)
		return SQLITE_OK;
	st = s->stmt[ST_MSG_TRIM];
	sqlite3_bind_text(st, 1, it->room, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(it->seq - it->keep));
	return step(s, ST_MSG_TRIM);
}

/* A reservation: a new epoch first drops the room's older messages. */
static int
write_reserve(struct store *s, const struct item *it)
{
	sqlite3_stmt *st = s->stmt[ST_RES_CLEAR];
	int rc;

	sqlite3_bind_text(st, 1, it->room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, it->epoch, -1, SQLITE_STATIC);
	rc = step(s, ST_RES_CLEAR);
	if (rc != SQLITE_OK)
		return rc;
	st = s->stmt[ST_RES_PUT];
	sqlite3_bind_text(st, 1, it->room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, it->epoch, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)it->seq);
	return step(s, ST_RES_PUT);
}

static int
write_delete(struct store *s, const struct item *it)
{
	int rc;

	sqlite3_bind_text(s->stmt[ST_DEL_MSGS], 1, it->room, -1,
			  SQLITE_STATIC);
	rc = step(s, ST_DEL_MSGS);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(s->stmt[ST_DEL_ROOM], 1, it->room, -1,
			  SQLITE_STATIC);
	return step(s, ST_DEL_ROOM);
}

/* Writes @batch in one transaction; returns SQLite's code. */
static int
write_batch(struct store *s, const struct item *batch, uint64_t *rows)
{
	const struct item *it;
	int rc;

	*rows = 0;
	rc = step(s, ST_BEGIN);
	for (it = batch; rc == SQLITE_OK && it; it = it->next) {
		if (it->kind == ITEM_MSG)
			rc = write_msg(s, it, rows);
		else if (it->kind == ITEM_RESERVE)
			rc = write_reserve(s, it);
		else
			rc = write_delete(s, it);
	}
	if (rc == SQLITE_OK)
		rc = step(s, ST_COMMIT);
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
		step(s, ST_ROLLBACK);
	return rc;
}

/*
 * Waits (mu held) for a batch to be due: something queued and either
 * batch_ms passed since the queue became non-empty, batch_max items wait,
 * or the store is closing. Returns 0 when the writer should stop.
 */
static int
wait_batch(struct store *s)
{
	struct timespec due;

	while ((!s->q_head || s->loading) && !s->stopping)
		pthread_cond_wait(&s->cv, &s->mu);
	if (!s->q_head)
		return 0;
	due = s->q_since;
	ts_add_ms(&due, s->o.batch_ms);
	while (!s->stopping && s->q_items < s->o.batch_max) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!ts_before(&now, &due))
			break;
		pthread_cond_timedwait(&s->cv, &s->mu, &due);
	}
	return 1;
}

/* Takes up to batch_max items off the queue (mu held). */
static struct item *
take_batch(struct store *s)
{
	struct item *head = s->q_head, **link = &s->q_head;
	unsigned int n = 0;

	while (*link && n < s->o.batch_max) {
		link = &(*link)->next;
		n++;
	}
	s->q_head = *link;
	*link = NULL;
	s->q_items -= n;
	if (!s->q_head)
		s->q_tail = &s->q_head;
	/* what is left was queued earlier still: it goes out at once */
	return head;
}

/* Moves @it to the done list (mu held). */
static void
done_locked(struct store *s, struct item *it)
{
	it->next = NULL;
	*s->done_tail = it;
	s->done_tail = &it->next;
}

/*
 * After a failed transaction (mu held): its messages are lost (counted),
 * its control items go back to the head of the queue in order, to be
 * retried, unless the store is closing.
 */
static void
batch_failed(struct store *s, struct item *batch, int rc)
{
	struct item *it, *next, *retry = NULL, **rt = &retry;

	s->st.write_failures++;
	if (s->st.state != STORE_ERROR)
		s->st.error_episodes++;	/* the glue logs once per episode */
	s->st.state = STORE_ERROR;
	s->st.last_error = rc;
	for (it = batch; it; it = next) {
		next = it->next;
		if (it->kind == ITEM_MSG || s->stopping) {
			if (it->kind == ITEM_MSG)
				s->st.rows_failed++;
			done_locked(s, it);
			continue;
		}
		*rt = it;
		rt = &it->next;
		s->q_items++;
	}
	if (!retry)
		return;
	*rt = s->q_head;
	if (!s->q_head)
		s->q_tail = rt;
	s->q_head = retry;
	clock_gettime(CLOCK_MONOTONIC, &s->q_since);
}

/* After a committed transaction (mu held). */
static void
batch_done(struct store *s, struct item *batch, uint64_t rows)
{
	struct item *it, *next;
	uint64_t ticket = 0;

	s->st.batches++;
	s->st.rows_written += rows;
	s->st.state = STORE_OK;
	for (it = batch; it; it = next) {
		next = it->next;
		if (it->ticket > ticket)
			ticket = it->ticket;
		done_locked(s, it);
	}
	if (ticket)
		atomic_store_explicit(&s->committed, ticket,
				      memory_order_release);
}

/* A failing disk is retried once a second, not in a busy loop. */
#define STORE_RETRY_MS 1000

static void *
writer_main(void *arg)
{
	struct store *s = arg;
	struct item *batch;
	uint64_t rows;
	int rc;

	pthread_mutex_lock(&s->mu);
	while (wait_batch(s)) {
		batch = take_batch(s);
		pthread_mutex_unlock(&s->mu);
		rc = write_batch(s, batch, &rows);
		pthread_mutex_lock(&s->mu);
		if (rc == SQLITE_OK) {
			batch_done(s, batch, rows);
		} else {
			batch_failed(s, batch, rc);
			/* q_since is now: wait_batch waits batch_ms; wait more */
			ts_add_ms(&s->q_since, STORE_RETRY_MS);
		}
		if (s->o.notify && s->done_head) {
			pthread_mutex_unlock(&s->mu);
			s->o.notify(s->o.notify_arg);
			pthread_mutex_lock(&s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- closing ---- */

void
store_close(struct store *s, void (*release)(void *token))
{
	int i;

	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->mu);
		s->stopping = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	store_poll_done(s, release);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	/* closing the last connection checkpoints the WAL into the file */
	sqlite3_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
