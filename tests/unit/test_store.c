/*
 * test_store.c: rooms' seq, epoch and history in SQLite (store.h).
 *
 * Each test works in a fresh directory from mkdtemp(). A crash is a child
 * process that kills itself with SIGKILL; another process's lock is a
 * child that tries to open the file the parent holds; a full disk is a
 * child with a small RLIMIT_FSIZE.
 */
#include "unit.h"

#include "rm_err.h"
#include "store.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROOMS 4
#define MAX_MSGS 64

struct seen_room {
	char id[64];
	char epoch[64];
	uint64_t seq, durable;
	unsigned int n, n_contig;
	uint64_t mseq[MAX_MSGS];
	char text[MAX_MSGS][32];
};

static struct seen {
	unsigned int n;
	struct seen_room r[MAX_ROOMS];
} seen;

static char dir[64];
static char path[96];
static int released;

static void
release_cb(void *token)
{
	CU_ASSERT_PTR_EQUAL(token, &released);
	released++;
}

static int
load_cb(void *arg, const struct store_room *room)
{
	struct seen_room *r;
	unsigned int i;

	if (seen.n == MAX_ROOMS)
		return -1;
	r = &seen.r[seen.n++];
	snprintf(r->id, sizeof(r->id), "%s", room->id);
	snprintf(r->epoch, sizeof(r->epoch), "%s", room->epoch);
	r->seq = room->seq;
	r->durable = room->durable;
	r->n = room->n_msgs;
	r->n_contig = room->n_contig;
	for (i = 0; i < room->n_msgs && i < MAX_MSGS; i++) {
		r->mseq[i] = room->msgs[i].seq;
		snprintf(r->text[i], sizeof(r->text[i]), "%.*s",
			 (int)room->msgs[i].len, room->msgs[i].text);
	}
	return 0;
}

static void
make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/rm_store_XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/h.db", dir);
	released = 0;
	memset(&seen, 0, sizeof(seen));
}

static void
remove_dir(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[128];
	unsigned int i;

	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* Opens the test's file with @o and loads it into `seen`. */
static struct store *
open_load(const struct store_opts *o)
{
	char err[256] = "";
	struct store *s = store_open(path, o, err, sizeof(err));

	if (!s) {
		fprintf(stderr, "store_open: %s\n", err);
		return NULL;
	}
	memset(&seen, 0, sizeof(seen));
	if (store_load(s, load_cb, NULL, err, sizeof(err))) {
		fprintf(stderr, "store_load: %s\n", err);
		store_close(s, release_cb);
		return NULL;
	}
	return s;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls @s until its committed ticket reaches @t (5 s at most). */
static int
wait_committed(struct store *s, uint64_t t)
{
	int64_t end = now_ms() + 5000;

	while (store_committed(s) < t && now_ms() < end)
		usleep(2000);
	return store_committed(s) >= t;
}

/* Texts the tests write: "m<seq>" (static storage for the queue). */
static char texts[512][8];

static const char *
text_of(uint64_t seq)
{
	snprintf(texts[seq % 512], sizeof(texts[0]), "m%llu",
		 (unsigned long long)seq);
	return texts[seq % 512];
}

/*
 * Hands out seqs @from..@to of @room under @epoch as a hub would: the
 * mark check first, then the message. Returns the last seq handed out.
 */
static uint64_t
put_range(struct store *s, struct store_mark *mk, const char *room,
	  const char *epoch, uint64_t from, uint64_t to, unsigned int keep)
{
	uint64_t seq;
	const char *t;

	for (seq = from; seq <= to; seq++) {
		if (store_mark_check(s, mk, room, epoch, seq))
			break;
		t = text_of(seq);
		CU_ASSERT_EQUAL(store_put_msg(s, room, epoch, seq, keep, t,
					      strlen(t), &released), 0);
	}
	return seq - 1;
}

/* ---- tests ---- */

static void
test_store_round_trip_keeps_messages_in_order(void)
{
	struct store_opts o = { .block = 100 };
	struct store_mark mk = { 0 };
	struct store *s;

	make_dir();
	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(seen.n, 0);
	CU_ASSERT_EQUAL(put_range(s, &mk, "r1", "e1", 1, 3, 10), 3);
	store_close(s, release_cb);
	CU_ASSERT_EQUAL(released, 3);	/* every token came back */

	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(seen.n, 1);
	CU_ASSERT_STRING_EQUAL(seen.r[0].id, "r1");
	CU_ASSERT_STRING_EQUAL(seen.r[0].epoch, "e1");
	/* no clean lowering: numbering resumes at the reserved mark */
	CU_ASSERT_EQUAL(seen.r[0].seq, 100);
	CU_ASSERT_EQUAL(seen.r[0].durable, 200);
	CU_ASSERT_EQUAL_FATAL(seen.r[0].n, 3);
	CU_ASSERT_EQUAL(seen.r[0].n_contig, 0);	/* 3 is not the seq: a gap */
	CU_ASSERT_EQUAL(seen.r[0].mseq[0], 1);
	CU_ASSERT_EQUAL(seen.r[0].mseq[2], 3);
	CU_ASSERT_STRING_EQUAL(seen.r[0].text[0], "m1");
	CU_ASSERT_STRING_EQUAL(seen.r[0].text[2], "m3");
	store_close(s, release_cb);
	remove_dir();
}

static void
test_store_clean_restart_keeps_epoch_and_seq(void)
{
	struct store_opts o = { .block = 100 };
	struct store_mark mk = { 0 };
	struct store *s;

	make_dir();
	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(put_range(s, &mk, "a", "e7", 1, 5, 10), 5);
	store_reserve(s, "a", "e7", 5);		/* clean shutdown */
	store_close(s, release_cb);

	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(seen.n, 1);
	CU_ASSERT_STRING_EQUAL(seen.r[0].epoch, "e7");
	CU_ASSERT_EQUAL(seen.r[0].seq, 5);
	CU_ASSERT_EQUAL(seen.r[0].n, 5);
	CU_ASSERT_EQUAL(seen.r[0].n_contig, 5);
	CU_ASSERT_EQUAL(seen.r[0].mseq[4], 5);
	/* the load itself moved the durable mark a block on */
	CU_ASSERT_EQUAL(seen.r[0].durable, 105);
	mk.durable = seen.r[0].durable;
	mk.pending = 0;
	CU_ASSERT_EQUAL(put_range(s, &mk, "a", "e7", 6, 7, 10), 7);
	/* 8's write was dropped (a full queue): 9 follows a hole */
	CU_ASSERT_EQUAL(store_put_msg(s, "a", "e7", 9, 10, "m9", 2,
				      &released), 0);
	store_reserve(s, "a", "e7", 9);
	store_close(s, release_cb);

	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(seen.r[0].seq, 9);
	CU_ASSERT_EQUAL(seen.r[0].n, 8);
	CU_ASSERT_EQUAL(seen.r[0].n_contig, 1);	/* only 9 may be replayed */
	store_close(s, release_cb);
	remove_dir();
}

static void
test_store_trims_each_room_to_keep(void)
{
	struct store_opts o = { .block = 100 };
	struct store_mark a = { 0 }, b = { 0 };
	struct store *s;

	make_dir();
	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	put_range(s, &a, "a", "e", 1, 20, 5);
	put_range(s, &b, "b", "e", 1, 3, 5);
	store_close(s, release_cb);
	CU_ASSERT_EQUAL(released, 23);

	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(seen.n, 2);
	CU_ASSERT_STRING_EQUAL(seen.r[0].id, "a");
	CU_ASSERT_EQUAL_FATAL(seen.r[0].n, 5);
	CU_ASSERT_EQUAL(seen.r[0].mseq[0], 16);
	CU_ASSERT_STRING_EQUAL(seen.r[0].text[4], "m20");
	CU_ASSERT_EQUAL(seen.r[1].n, 3);
	store_close(s, release_cb);
	remove_dir();
}

static void
test_store_new_epoch_and_delete_drop_old_rows(void)
{
	struct store_opts o = { .block = 100 };
	struct store_mark a = { 0 }, a2 = { 0 }, b = { 0 };
	struct store *s;

	make_dir();
	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	put_range(s, &a, "a", "old", 1, 4, 10);
	put_range(s, &b, "b", "e", 1, 2, 10);
	/* "a" freed and made again: a new epoch, numbering from 1 */
	put_range(s, &a2, "a", "new", 1, 2, 10);
	/* a late write of the old epoch is not kept */
	CU_ASSERT_EQUAL(store_put_msg(s, "a", "old", 5, 10, "x", 1,
				      &released), 0);
	CU_ASSERT_EQUAL(store_delete_room(s, "b"), 0);
	store_close(s, release_cb);
	CU_ASSERT_EQUAL(released, 9);

	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(seen.n, 1);
	CU_ASSERT_STRING_EQUAL(seen.r[0].epoch, "new");
	CU_ASSERT_EQUAL_FATAL(seen.r[0].n, 2);
	CU_ASSERT_EQUAL(seen.r[0].mseq[1], 2);
	store_close(s, release_cb);
	remove_dir();
}

/*
 * The mark check lets a new epoch run up to its first block at once,
 * asks for the next block at half, and refuses (never waits) a seq above
 * a mark that is not durable yet.
 */
static void
test_store_mark_refuses_beyond_undurable_mark(void)
{
	struct store_opts o = { .block = 8, .batch_ms = 1000 };
	struct store_mark mk = { 0 };
	struct store *s;
	int64_t t0;

	make_dir();
	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	t0 = now_ms();
	CU_ASSERT_EQUAL(put_range(s, &mk, "r", "e", 1, 20, 50), 8);
	CU_ASSERT_EQUAL(mk.pending, 16);	/* asked at 5 = 8 - 8 / 2 + 1 */
	CU_ASSERT_EQUAL(store_mark_check(s, &mk, "r", "e", 9), RM_E_LIMIT);
	CU_ASSERT_TRUE(now_ms() - t0 < 1000);	/* nothing waited */
	CU_ASSERT_TRUE(wait_committed(s, mk.ticket));
	CU_ASSERT_EQUAL(store_mark_check(s, &mk, "r", "e", 9), 0);
	CU_ASSERT_EQUAL(mk.durable, 16);
	store_close(s, release_cb);
	remove_dir();
}

/*
 * A child hands out seqs as fast as the mark check allows and then
 * SIGKILLs itself, telling the parent through a pipe the highest seq it
 * gave, and the highest it gave more than a second before the kill.
 * After the crash, the file is sound, the room's numbering resumes above
 * every seq given, and no message older than a second was lost.
 */
#define OLD_BIT (1ULL << 63)

static void
crash_child(int wfd)
{
	struct store_opts o = { .block = 32, .batch_ms = 20 };
	struct store_mark mk = { 0 };
	char err[256];
	struct store *s = store_open(path, &o, err, sizeof(err));
	uint64_t seq = 0, n;
	int i;

	if (!s || store_load(s, load_cb, NULL, err, sizeof(err)))
		_exit(3);
	for (i = 0; i < 300; i++) {
		n = put_range(s, &mk, "r", "e", seq + 1, seq + 7, 50);
		seq = n;
		if (write(wfd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(4);
		store_poll_done(s, NULL);
		usleep(1000);
		if (i == 150) {
			/* what was sent a second before the kill is kept */
			seq |= OLD_BIT;
			if (write(wfd, &seq, sizeof(seq)) != sizeof(seq))
				_exit(4);
			seq &= ~OLD_BIT;
			usleep(1100 * 1000);
		}
	}
	kill(getpid(), SIGKILL);
	_exit(5);
}

/* Returns 1 if SQLite finds the test's file sound. */
static int
integrity_ok(void)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int ok = 0;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 0;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
			       NULL) == SQLITE_OK) {
		ok = sqlite3_step(st) == SQLITE_ROW &&
		     !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return ok;
}

static void
test_store_sigkill_resumes_above_every_sent_seq(void)
{
	uint64_t sent = 0, old = 0, v;
	unsigned int n, i;
	struct store *s;
	int fds[2], st;
	pid_t pid;

	make_dir();
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	pid = fork();
	CU_ASSERT_TRUE_FATAL(pid >= 0);
	if (!pid) {
		close(fds[0]);
		crash_child(fds[1]);
	}
	close(fds[1]);
	while (read(fds[0], &v, sizeof(v)) == sizeof(v)) {
		if (v & OLD_BIT)
			old = v & ~OLD_BIT;
		else
			sent = v;
	}
	close(fds[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CU_ASSERT_TRUE(sent > 100);	/* it did get far */
	CU_ASSERT_TRUE(old > 50 && old < sent);
	CU_ASSERT_TRUE(integrity_ok());

	s = open_load(&(struct store_opts){ .block = 32 });
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(seen.n, 1);
	CU_ASSERT_STRING_EQUAL(seen.r[0].epoch, "e");
	CU_ASSERT_TRUE(seen.r[0].seq >= sent);
	/* the newest 50 of those written, in order, none above what was sent */
	n = seen.r[0].n;
	CU_ASSERT_TRUE_FATAL(n > 0 && n <= 50);
	CU_ASSERT_TRUE(seen.r[0].mseq[n - 1] <= sent);
	CU_ASSERT_TRUE(seen.r[0].mseq[n - 1] >= old);
	for (i = 1; i < n; i++)
		CU_ASSERT_TRUE(seen.r[0].mseq[i - 1] < seen.r[0].mseq[i]);
	store_close(s, release_cb);
	remove_dir();
}

static struct store *cb_store;

/*
 * A hub's load: each room asks for a seq near its durable mark, which
 * queues a reservation from inside the callback.
 */
static int
load_and_reserve_cb(void *arg, const struct store_room *room)
{
	struct store_mark mk = { .durable = room->durable };

	load_cb(arg, room);
	return store_mark_check(cb_store, &mk, room->id, room->epoch,
				room->durable - 4);
}

static void
test_store_load_callback_may_queue(void)
{
	struct store_opts o = { .block = 10 };
	struct store_mark mk = { 0 };
	char err[256];
	struct store *s;

	make_dir();
	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	put_range(s, &mk, "r", "e", 1, 2, 10);
	store_close(s, release_cb);

	cb_store = s = store_open(path, &o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(&seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL(store_load(s, load_and_reserve_cb, NULL, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(seen.r[0].seq, 10);
	/* 16 + 10 / 2 > 20: the next block (to 30) was asked for */
	store_close(s, release_cb);
	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(seen.r[0].seq, 30);
	store_close(s, release_cb);
	remove_dir();
}

/* store_open on @path fails with an error naming it and saying @why. */
static void
check_open_fails(const char *why)
{
	char err[256] = "";
	struct store *s = store_open(path, NULL, err, sizeof(err));

	CU_ASSERT_PTR_NULL(s);
	store_close(s, NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	if (!strstr(err, why))
		fprintf(stderr, "got: %s\n", err);
}

/* Runs @sql on the test's file with plain SQLite. */
static void
sqlite_run(const char *sql)
{
	sqlite3 *db;

	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_store_refuses_bad_files(void)
{
	char junk[4096];
	struct store *s;
	FILE *f;

	make_dir();
	snprintf(path, sizeof(path), "%s/missing/h.db", dir);
	check_open_fails("cannot open");

	snprintf(path, sizeof(path), "%s/h.db", dir);
	memset(junk, 'j', sizeof(junk));
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(junk, 1, sizeof(junk), f);
	fclose(f);
	check_open_fails("not an SQLite database");
	unlink(path);

	sqlite_run("CREATE TABLE t(x); INSERT INTO t VALUES (1)");
	check_open_fails("not a roomcast database");
	unlink(path);

	s = open_load(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	store_close(s, release_cb);
	sqlite_run("PRAGMA user_version = 2");
	check_open_fails("schema version 2 is newer");
	remove_dir();
}

/* While this process holds the file, a second process cannot open it. */
static void
test_store_refuses_file_locked_by_another_process(void)
{
	struct store *s;
	char err[256];
	pid_t pid;
	int st;

	make_dir();
	s = open_load(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	pid = fork();
	CU_ASSERT_TRUE_FATAL(pid >= 0);
	if (!pid) {
		struct store *s2 = store_open(path, NULL, err, sizeof(err));

		_exit(s2 ? 2 : strstr(err, "locked by another process") &&
		      strstr(err, path) ? 0 : 3);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	store_close(s, release_cb);
	/* released with the store: the next open works */
	s = open_load(NULL);
	CU_ASSERT_PTR_NOT_NULL(s);
	store_close(s, release_cb);
	remove_dir();
}

/* Waits (5 s at most) until every queued msg of @s is back; returns 1. */
static int
drain(struct store *s, int want)
{
	int64_t end = now_ms() + 5000;

	while (released < want && now_ms() < end) {
		store_poll_done(s, release_cb);
		usleep(2000);
	}
	return released == want;
}

/*
 * In a child with a small RLIMIT_FSIZE (a full disk): writes fail, are
 * counted, the state says error, puts never block and every token comes
 * back; a reservation made meanwhile is retried, and once the limit is
 * lifted it commits and the state is ok again. Exit status: the step
 * that went wrong, 0 if none.
 */
static int
disk_full_child(void)
{
	struct store_opts o = { .block = 1000, .batch_ms = 10 };
	static char big[8192];
	struct store_stats st;
	struct rlimit rl;
	struct store *s;
	struct stat sb;
	char wal[128];
	uint64_t t;
	int i;

	signal(SIGXFSZ, SIG_IGN);
	memset(big, 'x', sizeof(big));
	s = open_load(&o);
	if (!s || store_reserve(s, "r", "e", 1000) == 0)
		return 1;
	if (!wait_committed(s, 1))
		return 2;
	/* the WAL cannot grow: any write beyond its end fails */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) || !sb.st_size)
		return 10;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = (rlim_t)sb.st_size;
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 3;
	for (i = 1; i <= 40; i++)
		if (store_put_msg(s, "r", "e", (uint64_t)i, 100, big,
				  sizeof(big), &released))
			return 4;
	t = store_reserve(s, "r", "e", 2000);
	if (!drain(s, 40))
		return 5;
	store_get_stats(s, &st);
	if (st.state != STORE_ERROR || !st.write_failures || !st.rows_failed ||
	    !st.last_error || st.queued)
		return 6;
	if (store_committed(s) >= t)
		return 7;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_FSIZE, &rl);
	if (!wait_committed(s, t))
		return 8;
	store_get_stats(s, &st);
	if (st.state != STORE_OK || st.error_episodes != 1 ||
	    st.rows_failed != 40)
		return 9;
	store_close(s, release_cb);
	return 0;
}

static void
test_store_full_disk_is_counted_and_recovers(void)
{
	pid_t pid;
	int st;

	make_dir();
	pid = fork();
	CU_ASSERT_TRUE_FATAL(pid >= 0);
	if (!pid)
		_exit(disk_full_child());
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
	remove_dir();
}

static void
test_store_full_queue_drops_and_counts(void)
{
	struct store_opts o = { .queue_max = 4, .batch_ms = 3000 };
	struct store_stats st;
	struct store *s;
	int i, ok = 0, full = 0;
	int64_t t0;

	make_dir();
	s = open_load(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	store_reserve(s, "r", "e", 100);
	t0 = now_ms();
	for (i = 1; i <= 10; i++) {
		int rc = store_put_msg(s, "r", "e", (uint64_t)i, 10, "m", 1,
				       &released);

		ok += rc == 0;
		full += rc == RM_E_FULL;
	}
	CU_ASSERT_TRUE(now_ms() - t0 < 1000);	/* never waited */
	CU_ASSERT_EQUAL(ok, 4);
	CU_ASSERT_EQUAL(full, 6);
	store_get_stats(s, &st);
	CU_ASSERT_EQUAL(st.queue_drops, 6);
	CU_ASSERT_EQUAL(st.queued, 4);
	store_close(s, release_cb);
	CU_ASSERT_EQUAL(released, 4);	/* only the queued came back */
	remove_dir();
}

CU_TestInfo store_tests[] = {
	{ "round trip keeps messages in order",
	  test_store_round_trip_keeps_messages_in_order },
	{ "clean restart keeps epoch and seq",
	  test_store_clean_restart_keeps_epoch_and_seq },
	{ "trims each room to keep", test_store_trims_each_room_to_keep },
	{ "new epoch and delete drop old rows",
	  test_store_new_epoch_and_delete_drop_old_rows },
	{ "mark refuses beyond an undurable mark",
	  test_store_mark_refuses_beyond_undurable_mark },
	{ "SIGKILL resumes above every sent seq",
	  test_store_sigkill_resumes_above_every_sent_seq },
	{ "load callback may queue", test_store_load_callback_may_queue },
	{ "refuses bad files", test_store_refuses_bad_files },
	{ "refuses a file locked by another process",
	  test_store_refuses_file_locked_by_another_process },
	{ "full disk is counted and recovers",
	  test_store_full_disk_is_counted_and_recovers },
	{ "full queue drops and counts",
	  test_store_full_queue_drops_and_counts },
	CU_TEST_INFO_NULL,
};
