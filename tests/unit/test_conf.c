/*
 * test_conf.c: roomcast-server's config overrides (server/conf.h), on real
 * config directories made in a temporary directory.
 */
#include "unit.h"

#include "conf.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define GLOBAL "{ \"global\": { \"server-string\": \"roomcast\" } }\n"

/* The WebSocket vhost @name on @port, its roomcast options @pvo (JSON). */
#define WS_VHOST(name, port, pvo)                                              \
	"{ \"name\": \"" name "\", \"port\": \"" port "\",\n"                  \
	"  \"mounts\": [{ \"mountpoint\": \"/\",\n"                            \
	"    \"origin\": \"file://www\" }],\n"                                 \
	"  \"ws-protocols\": [{ \"roomcast\": { \"default\": \"1\" " pvo       \
	" }, \"roomcast.v1\": {} }] }"

#define STATUS_VHOST                                                           \
	"{ \"name\": \"status\", \"port\": \"8081\",\n"                        \
	"  \"mounts\": [{ \"mountpoint\": \"/\",\n"                            \
	"    \"origin\": \"callback://roomcast-status\" }] }"

/* Roomcast options of a vhost, after its "default" */
#define RING_8 ", \"send-ring-size\": \"8\""
#define QUEUED_5000 ", \"max-queued-bytes\": \"5000\""
#define HISTORY(n) ", \"history-size\": \"" n "\""

/* Two roomcast vhosts giving history-size 10 and 20. */
#define TWO_HISTORIES                                                          \
	WS_VHOST("plain", "8080", HISTORY("10"))                               \
	"," WS_VHOST("secure", "8443", HISTORY("20"))

/* Two giving max-queued-bytes 5000, a third giving none. */
#define SAME_QUEUED_TWICE                                                      \
	WS_VHOST("a", "8080", QUEUED_5000)                                     \
	"," WS_VHOST("b", "8443", QUEUED_5000) "," WS_VHOST("c", "8444", RING_8)

static char base[PATH_MAX]; /* the config directory of a test */

static void
write_file(const char *rel, const char *text)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* A config directory: conf, and conf.d/vhosts holding @vhosts (JSON). */
static void
make_config(const char *vhosts)
{
	char p[PATH_MAX + 16], *text;
	size_t len = strlen(vhosts) + 32;

	snprintf(base, sizeof(base), "/tmp/rc-test-conf-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(base));
	snprintf(p, sizeof(p), "%s/conf.d", base);
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
	write_file("conf", "# lwsws's comments are allowed\n" GLOBAL);
	text = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(text, len, "{ \"vhosts\": [ %s ] }\n", vhosts);
	write_file("conf.d/vhosts", text);
	free(text);
}

static void
remove_config(void)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/conf.d/vhosts", base);
	unlink(p);
	snprintf(p, sizeof(p), "%s/conf.d/extra", base);
	unlink(p);
	snprintf(p, sizeof(p), "%s/conf.d", base);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/conf", base);
	unlink(p);
	CU_ASSERT_EQUAL(rmdir(base), 0);
}

static void
overrides_init(struct conf_overrides *o)
{
	memset(o, 0, sizeof(*o));
	o->dir = base;
	o->port = -1;
	o->status_port = -1;
}

/* The @i-th vhost of the prepared copy @out; a reference, the caller's. */
static struct json_object *
prepared_vhost(const char *out, size_t i)
{
	char p[PATH_MAX + 32];
	struct json_object *root, *vhosts, *vh = NULL;

	snprintf(p, sizeof(p), "%s/conf.d/vhosts", out);
	root = json_object_from_file(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	if (json_object_object_get_ex(root, "vhosts", &vhosts) &&
	    i < json_object_array_length(vhosts))
		vh = json_object_get(json_object_array_get_idx(vhosts, i));
	json_object_put(root);
	return vh;
}

/* The string at @a.@b of @o (b may be NULL), or "". */
static const char *
str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v))
		return "";
	if (b && !json_object_object_get_ex(v, b, &v))
		return "";
	return json_object_get_string(v);
}

/* The roomcast options object of vhost @vh. */
static struct json_object *
pvo_of(struct json_object *vh)
{
	struct json_object *list, *pvo = NULL;

	if (json_object_object_get_ex(vh, "ws-protocols", &list))
		json_object_object_get_ex(json_object_array_get_idx(list, 0),
					  "roomcast", &pvo);
	return pvo;
}

/* conf_prepare() of @o into @out; 0 or -1, the reason in @err. */
static int
prepare(const struct conf_overrides *o, char *out, struct conf_summary *sum,
	char err[256])
{
	return conf_prepare(o, out, PATH_MAX, sum, err, 256);
}

static int
exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static void
strip_comments_keeps_strings(void)
{
	char t[] = "{\"a\": \"x # y\", # gone \"q\"\n\"b\": \"q\\\"#\"} #end";

	conf_strip_comments(t);
	/* each comment becomes as many spaces: "# gone "q"", "#end" */
	CU_ASSERT_STRING_EQUAL(t, "{\"a\": \"x # y\",           \n"
				  "\"b\": \"q\\\"#\"}     ");
}

static void
prepare_applies_overrides(void)
{
	struct conf_overrides o;
	struct conf_summary sum;
	struct json_object *vh, *status, *mount;
	char out[PATH_MAX], err[256] = "", want[PATH_MAX + 16];
	char real[PATH_MAX];

	make_config(WS_VHOST("ws", "8080", RING_8) ",\n" STATUS_VHOST);
	overrides_init(&o);
	o.port = 9000;
	o.status_port = 9001;
	o.n_options = 1;
	o.opt_name[0] = "max-message-size";
	o.opt_value[0] = "100";
	CU_ASSERT_EQUAL_FATAL(prepare(&o, out, &sum, err), 0);
	CU_ASSERT_EQUAL(sum.ws_port, 9000);
	CU_ASSERT_EQUAL(sum.status_port, 9001);
	vh = prepared_vhost(out, 0);
	status = prepared_vhost(out, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vh);
	CU_ASSERT_PTR_NOT_NULL_FATAL(status);
	CU_ASSERT_STRING_EQUAL(str_at(vh, "port", NULL), "9000");
	CU_ASSERT_STRING_EQUAL(str_at(status, "port", NULL), "9001");
	/* --option is added, the file's own options stay */
	CU_ASSERT_STRING_EQUAL(str_at(pvo_of(vh), "max-message-size", NULL),
			       "100");
	CU_ASSERT_STRING_EQUAL(str_at(pvo_of(vh), "send-ring-size", NULL), "8");
	/* a relative file:// origin is made absolute against the config dir */
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(base, real));
	snprintf(want, sizeof(want), "file://%s/www", real);
	mount = json_object_array_get_idx(json_object_object_get(vh, "mounts"),
					  0);
	CU_ASSERT_STRING_EQUAL(str_at(mount, "origin", NULL), want);
	json_object_put(vh);
	json_object_put(status);
	conf_remove(out);
	CU_ASSERT_FALSE(exists(out));
	remove_config();
}

static void
status_port_zero_drops_the_status_vhost(void)
{
	struct conf_overrides o;
	struct conf_summary sum;
	struct json_object *vh;
	char out[PATH_MAX], err[256] = "";

	make_config(WS_VHOST("ws", "8080", "") ",\n" STATUS_VHOST);
	overrides_init(&o);
	o.status_port = 0;
	CU_ASSERT_EQUAL_FATAL(prepare(&o, out, &sum, err), 0);
	CU_ASSERT_EQUAL(sum.ws_port, 8080); /* as the file says */
	CU_ASSERT_EQUAL(sum.status_port, -1);
	vh = prepared_vhost(out, 1);
	CU_ASSERT_PTR_NULL(vh);
	json_object_put(vh);
	conf_remove(out);
	remove_config();
}

/* conf_prepare() fails with an error containing @want and leaves no copy. */
static void
refused_(const struct conf_overrides *o, const char *want, int line)
{
	struct conf_summary sum;
	char out[PATH_MAX] = "", err[256] = "";

	CU_ASSERT_EQUAL(prepare(o, out, &sum, err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (!strstr(err, want))
		fprintf(stderr, "\n  line %d: error '%s', want '%s'\n", line,
			err, want);
	if (out[0])
		CU_ASSERT_FALSE(exists(out));
}

#define refused(o, want) refused_(o, want, __LINE__)

static void
prepare_refuses_what_it_cannot_apply(void)
{
	struct conf_overrides o;

	/* no such directory */
	overrides_init(&o);
	o.dir = "/nonexistent/roomcast-config";
	refused(&o, "--config /nonexistent/roomcast-config");

	/* --port without a roomcast vhost, --status-port without status */
	make_config(STATUS_VHOST);
	overrides_init(&o);
	o.port = 9000;
	refused(&o, "--port: the config has no vhost");
	remove_config();
	make_config(WS_VHOST("ws", "8080", ""));
	overrides_init(&o);
	o.status_port = 9001;
	refused(&o, "--status-port: the config has no vhost");
	remove_config();

	/* --port with two roomcast vhosts: which one? */
	make_config(WS_VHOST("a", "8080", "") "," WS_VHOST("b", "8082", ""));
	overrides_init(&o);
	o.port = 9000;
	refused(&o, "more than one roomcast.v1 vhost");
	remove_config();

	/* a file that is not a JSON object */
	make_config(WS_VHOST("ws", "8080", ""));
	write_file("conf.d/extra", "[1, 2]\n");
	overrides_init(&o);
	refused(&o, "conf.d/extra is not a JSON object");
	remove_config();
}

static void
process_wide_options_must_agree(void)
{
	struct conf_overrides o;
	struct conf_summary sum;
	char out[PATH_MAX], err[256] = "";

	/* different values: refused, naming the option and both vhosts */
	make_config(TWO_HISTORIES);
	overrides_init(&o);
	refused(&o,
		"history-size: vhost 'secure' gives 20 but vhost 'plain' gave 10");
	/* --option gives every roomcast vhost one value: no conflict */
	o.n_options = 1;
	o.opt_name[0] = "history-size";
	o.opt_value[0] = "30";
	CU_ASSERT_EQUAL_FATAL(prepare(&o, out, &sum, err), 0);
	CU_ASSERT_EQUAL(sum.options.history_size, 30);
	conf_remove(out);
	remove_config();

	/* the same value twice, and a vhost that gives none: accepted */
	make_config(SAME_QUEUED_TWICE);
	overrides_init(&o);
	CU_ASSERT_EQUAL_FATAL(prepare(&o, out, &sum, err), 0);
	CU_ASSERT_EQUAL(sum.options.max_queued_bytes, 5000);
	CU_ASSERT_STRING_EQUAL(sum.options.given_by[1], "a");
	conf_remove(out);
	remove_config();

	/* a bad value of a process-wide option names its vhost */
	make_config(WS_VHOST("v", "8080", HISTORY("lots")));
	overrides_init(&o);
	refused(&o, "vhost 'v': history-size: 'lots'");
	remove_config();
}

static void
read_size_follows_the_smallest_ring(void)
{
	struct conf_overrides o;
	struct conf_summary sum;
	char out[PATH_MAX], err[256] = "";

	/* 3/8 of the ring in 45-byte messages, 3/32 of its bytes */
	CU_ASSERT_EQUAL(conf_read_size(256, 1048576), 4096);
	CU_ASSERT_EQUAL(conf_read_size(16, 1048576), 270);
	CU_ASSERT_EQUAL(conf_read_size(4, 1048576), 128);
	CU_ASSERT_EQUAL(conf_read_size(65536, 4096), 384);
	CU_ASSERT_EQUAL(conf_read_size(65536, 64), 128);

	/* the smallest ring of any roomcast vhost decides; default 4096 */
	make_config(
		WS_VHOST("a", "8080", "") "," WS_VHOST("b", "8443", RING_8));
	overrides_init(&o);
	CU_ASSERT_EQUAL_FATAL(prepare(&o, out, &sum, err), 0);
	CU_ASSERT_EQUAL(sum.read_size, 135);
	conf_remove(out);
	remove_config();
	make_config(WS_VHOST("a", "8080", ""));
	overrides_init(&o);
	CU_ASSERT_EQUAL_FATAL(prepare(&o, out, &sum, err), 0);
	CU_ASSERT_EQUAL(sum.read_size, 4096);
	conf_remove(out);
	remove_config();
}

CU_TestInfo conf_tests[] = {
	{ "conf_strip_comments: # outside strings only",
	  strip_comments_keeps_strings },
	{ "conf_prepare applies --port, --status-port, --option, origins",
	  prepare_applies_overrides },
	{ "--status-port 0 leaves the status vhost out",
	  status_port_zero_drops_the_status_vhost },
	{ "conf_prepare refuses what it cannot apply, leaving no copy",
	  prepare_refuses_what_it_cannot_apply },
	{ "process-wide options must agree across vhosts",
	  process_wide_options_must_agree },
	{ "the read size follows the smallest send ring",
	  read_size_follows_the_smallest_ring },
	CU_TEST_INFO_NULL,
};
