/*
 * test_hub_auth.c: the Auth rules on the hub's side (hub_auth.h), driven
 * through hub_on_text() with a fake transport: before-auth gating, the
 * `auth` answer, refresh (narrowing, user_mismatch, bad tokens change
 * nothing), rooms/publish gating in PROTOCOL.md's error order, and the
 * sweep's 4003/4004 at a given `now`. Tokens are HS256, minted here.
 */
#include "unit.h"

#include "hub.h"
#include "hub_auth.h"
#include "msg.h"
#include "rm_err.h"
#include "stats.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SECRET "unit-secret-unit-secret-unit-secret!"

struct owner {
	int closes, code;
};

static struct hub *h;
static struct rconf conf;	/* auth on */
static struct rconf open_conf;	/* auth off */
static struct owner own[4];
static struct client *cl[4];
static int64_t now_ms;

static void
wake(void *o)
{
	(void)o;
}

static void
close_(void *o, int code)
{
	((struct owner *)o)->closes++;
	((struct owner *)o)->code = code;
}

static const struct hub_ops ops = { wake, close_ };

void
hub_auth_test_setup(void)
{
	char err[256];

	stats_reset(0);
	memset(own, 0, sizeof(own));
	memset(cl, 0, sizeof(cl));
	now_ms = 5000;
	rconf_init(&conf);
	rconf_init(&open_conf);
	CU_ASSERT_EQUAL(rconf_set(&conf, "auth-secret", SECRET, err,
				  sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL(rconf_set(&conf, "auth-timeout-s", "3", err,
				  sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL(rconf_auth_load(&conf, err, sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL(rconf_auth_load(&open_conf, err, sizeof(err)), RM_OK);
	CU_ASSERT_PTR_NULL(open_conf.keyring);
	h = hub_create(&ops, 1);
}

void
hub_auth_test_teardown(void)
{
	hub_destroy(h);
	rconf_free(&conf);
	rconf_free(&open_conf);
}

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	for (; len > 0 && out[len - 1] == '='; len--)
		out[len - 1] = '\0';
	for (int i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
}

/* An HS256 token with @claims (JSON text), into a static buffer. */
static const char *
mint(const char *claims)
{
	static char tok[2048];
	unsigned char mac[32];
	unsigned int maclen = 32;
	const char *hdr = "{\"alg\":\"HS256\"}";
	size_t n;

	b64url((const unsigned char *)hdr, strlen(hdr), tok);
	n = strlen(tok);
	tok[n++] = '.';
	b64url((const unsigned char *)claims, strlen(claims), tok + n);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
	     (const unsigned char *)tok, strlen(tok), mac, &maclen);
	n = strlen(tok);
	tok[n++] = '.';
	b64url(mac, 32, tok + n);
	return tok;
}

/* An auth message for claims of @sub with @extra JSON members, @ttl s. */
static const char *
auth_msg(const char *sub, long ttl, const char *extra)
{
	static char msg[2400];
	char claims[512];

	snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"exp\":%lld%s}",
		 sub, (long long)time(NULL) + ttl, extra);
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"id\":1,"
		 "\"token\":\"%s\"}", mint(claims));
	return msg;
}

static void
say(int i, const char *text)
{
	CU_ASSERT_EQUAL(hub_on_text(h, cl[i], text, strlen(text), now_ms), 0);
}

/* Pops @i's next message into a static buffer ("" when none). */
static const char *
next(int i)
{
	static char buf[4096];
	struct msg *m;
	size_t n;

	buf[0] = '\0';
	if (!hub_client_queued(cl[i]))
		return buf;
	m = hub_client_peek(cl[i], 0);
	n = m->payload_len < sizeof(buf) - 1 ? m->payload_len : sizeof(buf) - 1;
	memcpy(buf, msg_text(m), n);
	buf[n] = '\0';
	hub_written(h, cl[i], 1, msg_frame_len(m));
	return buf;
}

static int
has(const char *text, const char *part)
{
	if (strstr(text, part))
		return 1;
	fprintf(stderr, "\n  want %s in %s\n", part, text);
	return 0;
}

#define EXPECT(i, part) CU_ASSERT(has(next(i), part))
#define EXPECT_ERR(i, code) EXPECT(i, "\"code\":\"" code "\"")

static void
connect_(int i, const struct rconf *c)
{
	cl[i] = hub_client_new(h, c, &own[i], now_ms);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl[i]);
}

static void
only_auth_and_ping_before_auth(void)
{
	connect_(0, &conf);
	CU_ASSERT_FALSE(hub_auth_authed(cl[0]));
	say(0, "{\"type\":\"ping\",\"id\":\"p\"}");
	EXPECT(0, "{\"type\":\"pong\",\"id\":\"p\"}");
	say(0, "{\"type\":\"join\",\"room_id\":\"r\",\"id\":2}");
	EXPECT(0, "\"id\":2,\"code\":\"unauthorized\"");
	say(0, "{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\"}");
	EXPECT_ERR(0, "unauthorized");
	say(0, "{\"type\":\"leave\",\"room_id\":\"r\"}");
	EXPECT_ERR(0, "unauthorized");
	say(0, "{\"type\":\"direct\",\"to\":\"u\",\"content\":1}");
	EXPECT_ERR(0, "unauthorized");
	/* the codec's errors come first */
	say(0, "{\"type\":\"join\",\"room_id\":\"a b\"}");
	EXPECT_ERR(0, "bad_room");
	say(0, "{\"type\":\"join\"}");
	EXPECT_ERR(0, "missing_field");
	say(0, "{\"type\":\"auth\"}");
	EXPECT_ERR(0, "missing_field");
	say(0, "{\"type\":\"auth\",\"token\":\"x.y.z\"}");
	EXPECT_ERR(0, "unauthorized");
	CU_ASSERT_FALSE(hub_auth_authed(cl[0]));
	say(0, auth_msg("alice", 60, ""));
	EXPECT(0, "{\"type\":\"authed\",\"id\":1,\"user_id\":\"alice\",\"exp\":");
	CU_ASSERT_TRUE(hub_auth_authed(cl[0]));
	say(0, "{\"type\":\"join\",\"room_id\":\"r\"}");
	EXPECT(0, "\"user_id\":\"alice\"");
	/* a join naming another user: user_mismatch, before unauthorized */
	say(0, "{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":\"bob\"}");
	EXPECT_ERR(0, "user_mismatch");
	CU_ASSERT_EQUAL(hub_client_queued(cl[0]), 0);
}

static void
auth_off_accepts_no_auth_message(void)
{
	connect_(0, &open_conf);
	say(0, "{\"type\":\"join\",\"room_id\":\"r\"}");
	EXPECT(0, "\"type\":\"joined\"");
	say(0, auth_msg("alice", 60, ""));
	EXPECT_ERR(0, "unauthorized");
	CU_ASSERT_EQUAL(hub_auth_sweep(h, cl[0], now_ms + 1000000,
				       time(NULL) + 1000000), 0);
}

static void
rooms_and_publish_gate(void)
{
	connect_(0, &conf);
	connect_(1, &conf);
	say(0, auth_msg("ro", 60, ",\"rooms\":[\"team-*\"],\"publish\":[]"));
	EXPECT(0, "authed");
	say(1, auth_msg("rw", 60, ",\"publish\":[\"team-a\"]"));
	EXPECT(1, "authed");
	say(0, "{\"type\":\"join\",\"room_id\":\"lobby\"}");
	EXPECT_ERR(0, "unauthorized");
	say(0, "{\"type\":\"history\",\"room_id\":\"lobby\"}");
	EXPECT_ERR(0, "unauthorized");
	say(0, "{\"type\":\"join\",\"room_id\":\"team-a\"}");
	EXPECT(0, "joined");
	say(1, "{\"type\":\"join\",\"room_id\":\"team-a\"}");
	EXPECT(1, "joined");
	/* read-only: unauthorized and reaches no one */
	say(0, "{\"type\":\"broadcast\",\"room_id\":\"team-a\",\"content\":1}");
	EXPECT_ERR(0, "unauthorized");
	CU_ASSERT_EQUAL(hub_client_queued(cl[1]), 0);
	/* unauthorized comes before not_member */
	say(1, "{\"type\":\"broadcast\",\"room_id\":\"team-b\",\"content\":1}");
	EXPECT_ERR(1, "unauthorized");
	say(1, "{\"type\":\"broadcast\",\"room_id\":\"team-a\",\"content\":2}");
	EXPECT(0, "\"sender\":\"rw\"");
	EXPECT(1, "\"sender\":\"rw\"");
	/* direct needs no claim */
	say(0, "{\"type\":\"direct\",\"to\":\"rw\",\"content\":3}");
	EXPECT(1, "{\"type\":\"direct\",\"from\":\"ro\",\"content\":3}");
}

static void
refresh_narrows_and_keeps_sub(void)
{
	const char *m;

	connect_(0, &conf);
	connect_(1, &conf);
	say(0, auth_msg("amy", 60, ""));
	EXPECT(0, "authed");
	say(1, auth_msg("ben", 60, ""));
	EXPECT(1, "authed");
	say(0, "{\"type\":\"join\",\"room_id\":\"a\"}");
	say(0, "{\"type\":\"join\",\"room_id\":\"b\"}");
	say(0, "{\"type\":\"join\",\"room_id\":\"keep\"}");
	say(1, "{\"type\":\"join\",\"room_id\":\"a\"}");
	while (hub_client_queued(cl[0]))
		next(0);
	next(1);
	/* another sub: user_mismatch, nothing changes */
	say(0, auth_msg("ben", 60, ""));
	EXPECT_ERR(0, "user_mismatch");
	/* a bad token changes nothing */
	say(0, "{\"type\":\"auth\",\"token\":\"a.b.c\"}");
	EXPECT_ERR(0, "unauthorized");
	say(0, auth_msg("amy", 120, ",\"rooms\":[\"keep\"]"));
	m = next(0);
	CU_ASSERT(has(m, "\"type\":\"left\"") && has(m, "\"reason\":"
						      "\"unauthorized\""));
	m = next(0);
	CU_ASSERT(has(m, "\"type\":\"left\"") && has(m, "\"reason\":"
						      "\"unauthorized\""));
	EXPECT(0, "\"type\":\"authed\",\"id\":1,\"user_id\":\"amy\"");
	{
		struct hub_client_info i;

		hub_client_info(cl[0], &i);
		CU_ASSERT_EQUAL(i.n_rooms, 1);
		CU_ASSERT_STRING_EQUAL(i.rooms->room->id, "keep");
	}
	/* room a still has ben; room b was freed */
	CU_ASSERT_PTR_NOT_NULL(hub_room(h, "a"));
	CU_ASSERT_PTR_NULL(hub_room(h, "b"));
	say(0, "{\"type\":\"broadcast\",\"room_id\":\"a\",\"content\":1}");
	EXPECT_ERR(0, "unauthorized");
	CU_ASSERT_EQUAL(hub_client_queued(cl[1]), 0);
}

static void
sweep_closes_4003_and_4004(void)
{
	time_t t = time(NULL);

	connect_(0, &conf);		/* never authenticates */
	connect_(1, &conf);
	say(1, auth_msg("cat", 30, ""));
	EXPECT(1, "authed");
	/* auth-timeout-s is 3 */
	CU_ASSERT_EQUAL(hub_auth_sweep(h, cl[0], now_ms + 2999, t), 0);
	CU_ASSERT_EQUAL(own[0].closes, 0);
	CU_ASSERT_EQUAL(hub_auth_sweep(h, cl[0], now_ms + 3000, t),
			HUB_CLOSE_AUTH_TIMEOUT);
	CU_ASSERT_EQUAL(own[0].code, 4003);
	CU_ASSERT_TRUE(hub_client_closing(cl[0]));
	/* asked once */
	CU_ASSERT_EQUAL(hub_auth_sweep(h, cl[0], now_ms + 9000, t), 0);
	CU_ASSERT_EQUAL(own[0].closes, 1);
	/* an authenticated one: no deadline, but exp */
	CU_ASSERT_EQUAL(hub_auth_sweep(h, cl[1], now_ms + 9000, t + 29), 0);
	/* a refresh moves exp */
	say(1, auth_msg("cat", 100, ""));
	EXPECT(1, "authed");
	CU_ASSERT_EQUAL(hub_auth_sweep(h, cl[1], now_ms, t + 31), 0);
	CU_ASSERT_EQUAL(hub_auth_sweep(h, cl[1], now_ms, t + 101),
			HUB_CLOSE_TOKEN_EXPIRED);
	CU_ASSERT_EQUAL(own[1].code, 4004);
}

static void
handshake_claims_attach(void)
{
	struct auth_claims *claims;
	const char *tok = mint("{\"sub\":\"dan\",\"exp\":4000000000}");

	CU_ASSERT_EQUAL(auth_verify(conf.keyring, tok, strlen(tok), time(NULL),
				    &claims, NULL, 0), AUTH_OK);
	connect_(0, &conf);
	CU_ASSERT_EQUAL(hub_auth_attach(h, cl[0], claims), RM_OK);
	CU_ASSERT_TRUE(hub_auth_authed(cl[0]));
	say(0, "{\"type\":\"join\",\"room_id\":\"r\"}");
	EXPECT(0, "\"user_id\":\"dan\"");
	/* no 4003 for a connection authenticated at the handshake */
	CU_ASSERT_EQUAL(hub_auth_sweep(h, cl[0], now_ms + 60000, time(NULL)),
			0);
}

static void
bad_pairings_name_the_option(void)
{
	struct rconf c;
	char err[256];

	rconf_init(&c);
	CU_ASSERT_EQUAL(rconf_set(&c, "auth-issuer", "x", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_EQUAL(rconf_auth_load(&c, err, sizeof(err)), RM_E_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "auth-issuer"));
	CU_ASSERT_EQUAL(rconf_set(&c, "auth-secret-file", "/nonexistent/s",
				  err, sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL(rconf_auth_load(&c, err, sizeof(err)), RM_E_INVAL);
	CU_ASSERT_EQUAL(strncmp(err, "auth-secret-file:", 17), 0);
	CU_ASSERT_EQUAL(rconf_set(&c, "auth-secret", "", err, sizeof(err)),
			RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_set(&c, "auth-nosuch", "1", err, sizeof(err)),
			RM_E_NOENT);
	rconf_free(&c);
}

CU_TestInfo hub_auth_tests[] = {
	{ "only auth and ping before auth; error order",
	  only_auth_and_ping_before_auth },
	{ "auth off: an auth message is unauthorized, no closes",
	  auth_off_accepts_no_auth_message },
	{ "rooms gate join/history, publish gates broadcast",
	  rooms_and_publish_gate },
	{ "refresh: narrowing, user_mismatch, bad token changes nothing",
	  refresh_narrows_and_keeps_sub },
	{ "sweep: 4003 at auth-timeout-s, 4004 at exp",
	  sweep_closes_4003_and_4004 },
	{ "handshake claims attach", handshake_claims_attach },
	{ "bad auth option pairings name the option",
	  bad_pairings_name_the_option },
	CU_TEST_INFO_NULL,
};
