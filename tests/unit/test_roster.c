/*
 * test_roster.c: the `members` answer (roster.h): distinct users, the
 * 1000-user and send-ring-bytes bounds, the request id.
 */
#include "unit.h"

#include "hub.h"
#include "hub_internal.h"
#include "msg.h"
#include "roster.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_CLIENTS 1100

static struct rooms *table;
static struct room *room;
static struct client *clients;
static char (*names)[16];

static void
setup(void)
{
	table = rooms_create();
	clients = calloc(N_CLIENTS, sizeof(*clients));
	names = calloc(N_CLIENTS, sizeof(*names));
	CU_ASSERT_PTR_NOT_NULL_FATAL(table);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clients);
	CU_ASSERT_PTR_NOT_NULL_FATAL(names);
	room = rooms_get_or_create(table, "r", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(room);
}

static void
teardown(void)
{
	rooms_destroy(table);
	free(clients);
	free(names);
}

/* Adds client @i to the room, as user @user (NULL: a guest). */
static void
add(unsigned int i, const char *user)
{
	clients[i].conn_id = 1000 + i;
	if (user) {
		snprintf(names[i], sizeof(names[i]), "%s", user);
		clients[i].user_id = names[i];
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(rooms_add_member(room, &clients[i],
						      &clients[i].rooms));
}

/* Encodes the answer and parses it; the caller puts the object. */
static struct json_object *
answer(const struct codec_span *id, size_t max_bytes, size_t *len)
{
	struct msg *m = roster_encode(room, id, max_bytes);
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	/* a msg's text is not NUL-terminated */
	o = json_tokener_parse_ex(tok, msg_text(m), (int)m->payload_len);
	*len = m->payload_len;
	msg_unref(m);
	json_tokener_free(tok);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

static void
each_user_once_guests_after(void)
{
	struct codec_span id = { "\"q\"", 3 };
	struct msg *m;

	setup();
	add(0, "bo");
	add(1, NULL);
	add(2, "al");
	add(3, "bo");
	add(4, "al");
	add(5, NULL);
	add(6, "al");
	m = roster_encode(room, &id, 1 << 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_TRUE(unit_text_is(msg_text(m), m->payload_len,
		"{\"type\":\"members\",\"id\":\"q\",\"room_id\":\"r\","
		"\"members\":7,\"users\":[\"al\",\"bo\",\"guest-1001\","
		"\"guest-1005\"]}"));
	msg_unref(m);
	teardown();
}

static void
at_most_1000_users(void)
{
	struct json_object *o, *users, *t;
	char u[16];
	size_t len;
	unsigned int i;

	setup();
	for (i = 0; i < 1000; i++) {
		snprintf(u, sizeof(u), "u%04u", i);
		add(i, u);
	}
	add(1000, "u0000");	/* a second connection: still 1000 users */
	o = answer(NULL, 1 << 20, &len);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "users", &users));
	CU_ASSERT_EQUAL(json_object_array_length(users), 1000);
	CU_ASSERT_FALSE(json_object_object_get_ex(o, "truncated", NULL));
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "members", &t));
	CU_ASSERT_EQUAL(json_object_get_int(t), 1001);
	json_object_put(o);

	add(1001, NULL);	/* the 1001st user */
	o = answer(NULL, 1 << 20, &len);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "users", &users));
	CU_ASSERT_EQUAL(json_object_array_length(users), 1000);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "truncated", &t) &&
		       json_object_get_boolean(t));
	json_object_put(o);
	teardown();
}

static void
cut_to_what_fits_the_ring(void)
{
	struct json_object *o, *users, *t;
	char u[16];
	size_t len;
	unsigned int i;

	setup();
	for (i = 0; i < 100; i++) {
		snprintf(u, sizeof(u), "user-%04u", i);
		add(i, u);
	}
	o = answer(NULL, 1000, &len);
	CU_ASSERT(len <= 1000);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "users", &users));
	CU_ASSERT(json_object_array_length(users) > 0);
	CU_ASSERT(json_object_array_length(users) < 100);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "truncated", &t) &&
		       json_object_get_boolean(t));
	json_object_put(o);
	/* a ring too small for any user: an empty, truncated list */
	o = answer(NULL, 64, &len);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "users", &users));
	CU_ASSERT_EQUAL(json_object_array_length(users), 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "truncated", NULL));
	json_object_put(o);
	teardown();
}

static void
list_then_merged_across_processes(void)
{
	struct codec_span id = { "7", 1 };
	char *lists[3], other[] = "cy\nal\nguest-5\n", more[] = "zz\n*\n";
	size_t lens[3], len;
	struct msg *m;

	setup();
	add(0, "bo");
	add(1, NULL);
	add(2, "al");
	add(3, "bo");
	lists[0] = roster_list(room, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lists[0]);
	CU_ASSERT_STRING_EQUAL(lists[0], "al\nbo\nguest-1001\n");
	CU_ASSERT_EQUAL(len, strlen(lists[0]));
	lens[0] = len;
	lists[1] = other;
	lens[1] = strlen(other);
	/*
	 * another process's "al" counts once; guests after named users, by
	 * conn_id as one process sorts them (5 before 1001, not as text)
	 */
	m = roster_encode_merged("r", 9, lists, lens, 2, &id, 1 << 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_TRUE(
		unit_text_is(msg_text(m), m->payload_len,
			     "{\"type\":\"members\",\"id\":7,\"room_id\":\"r\","
			     "\"members\":9,\"users\":[\"al\",\"bo\",\"cy\","
			     "\"guest-5\",\"guest-1001\"]}"));
	msg_unref(m);
	free(lists[0]);
	/* a list that left users out makes the answer truncated */
	lists[0] = more;
	lens[0] = strlen(more);
	m = roster_encode_merged("r", 3, lists, lens, 1, NULL, 1 << 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_TRUE(unit_text_is(
		msg_text(m), m->payload_len,
		"{\"type\":\"members\",\"room_id\":\"r\",\"members\":3,"
		"\"users\":[\"zz\"],\"truncated\":true}"));
	msg_unref(m);
	/* a damaged list from Redis: what is no user id is left out */
	{
		char bad[] = "ok\n\"}\nbad id\n\n"
			     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			     "xxxxxxxxxxxxxxxxxxxxx\ntail";

		lists[0] = bad;
		lens[0] = sizeof(bad) - 1;
		m = roster_encode_merged("r", 2, lists, lens, 1, NULL, 1 << 20);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_TRUE(
			unit_text_is(msg_text(m), m->payload_len,
				     "{\"type\":\"members\",\"room_id\":\"r\","
				     "\"members\":2,\"users\":[\"ok\"]}"));
		msg_unref(m);
	}
	/* no list at all: no users */
	m = roster_encode_merged("r", 0, NULL, NULL, 0, NULL, 1 << 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	msg_unref(m);
	teardown();
}

static void
list_stops_at_1000_users(void)
{
	char u[16], *list;
	size_t len;
	unsigned int i, lines = 0;

	setup();
	for (i = 0; i < 1001; i++) {
		snprintf(u, sizeof(u), "u%04u", i);
		add(i, u);
	}
	list = roster_list(room, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	for (i = 0; i < len; i++)
		lines += list[i] == '\n';
	CU_ASSERT_EQUAL(lines, 1001); /* 1000 users and the "*" line */
	CU_ASSERT_STRING_EQUAL(list + len - 2, "*\n");
	free(list);
	teardown();
}

CU_TestInfo roster_tests[] = {
	{ "members: a process's list, merged with others'",
	  list_then_merged_across_processes },
	{ "members: a process's list stops at 1000 users, marked",
	  list_stops_at_1000_users },
	{ "members: each user once, named sorted, then guests",
	  each_user_once_guests_after },
	{ "members: at most 1000 users, then truncated", at_most_1000_users },
	{ "members: cut to what fits send-ring-bytes, truncated",
	  cut_to_what_fits_the_ring },
	CU_TEST_INFO_NULL,
};
