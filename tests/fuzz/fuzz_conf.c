/*
 * fuzz_conf: the bytes of one config file, through server/conf.c.
 *
 * 1. conf_strip_comments on them, then json-c's parser, as read_json()
 *    does.
 * 2. conf_prepare on a private directory DIR whose DIR/conf is a fixed
 *    valid file and whose DIR/conf.d/x holds the input, with overrides
 *    chosen from the input's length (--port, --status-port, --option), then
 *    conf_remove on what it made. TMPDIR points at a private directory,
 *    which must be empty again after every input.
 *
 * Invariants:
 *  strip_only     stripping only turns bytes into ' ', never a '\n', and
 *                 keeps the length; stripping again changes nothing
 *  prepare_out    on success DIR's copies are JSON objects, and a port
 *                 override is what the summary reports
 *  prepare_err    on failure the reason is a non-empty string
 *  conf_cleanup   nothing is left in TMPDIR after conf_remove / a failure
 *
 * RC_FUZZ_SKIP=conf_null leaves out inputs that give a vhost's "port" or a
 * mount's "origin" as JSON null (a known crash: README.md).
 */
#include "conf.h"
#include "fuzz_util.h"

#include <dirent.h>
#include <json-c/json.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64];		/* $TMPDIR/rcfz-XXXXXX */
static char cfg[PATH_MAX], tmpd[PATH_MAX], input_path[PATH_MAX];

static void
rm_tree_once(void)
{
	char p[PATH_MAX];

	unlink(input_path);
	snprintf(p, sizeof(p), "%s/conf.d", cfg);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/conf", cfg);
	unlink(p);
	rmdir(cfg);
	rmdir(tmpd);
	rmdir(base);
}

static void
write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf_text[] =
		"# roomcast global settings\n"
		"{\n  \"global\": {\n    \"server-string\": \"roomcast\",\n"
		"    \"init-ssl\": \"yes\"\n  }\n}\n";
	const char *t = getenv("TMPDIR");
	char p[PATH_MAX];

	snprintf(base, sizeof(base), "%s/rcfz-XXXXXX",
		 t && *t && strlen(t) < 40 ? t : "/tmp");
	if (!mkdtemp(base))
		abort();
	snprintf(cfg, sizeof(cfg), "%s/cfg", base);
	snprintf(tmpd, sizeof(tmpd), "%s/tmp", base);
	snprintf(p, sizeof(p), "%s/conf.d", cfg);
	if (mkdir(cfg, 0700) || mkdir(tmpd, 0700) || mkdir(p, 0700))
		abort();
	snprintf(p, sizeof(p), "%s/conf", cfg);
	write_all(p, conf_text, sizeof(conf_text) - 1);
	snprintf(input_path, sizeof(input_path), "%s/conf.d/x", cfg);
	setenv("TMPDIR", tmpd, 1);
	atexit(rm_tree_once);
	return 0;
}

static int
dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

static void
check_json_file(const char *path)
{
	struct json_object *o = json_object_from_file(path);

	CHECK("prepare_out", o && json_object_is_type(o, json_type_object));
	json_object_put(o);
}

/*
 * RC_FUZZ_SKIP=conf_null: leaves out inputs whose vhosts give "origin" or
 * "port" as JSON null (a known crash, see README.md), so that a run can
 * look past it. @text is the stripped file.
 */
static int
known_null_crash(const char *text)
{
	struct json_object *root = json_tokener_parse(text), *vhs, *vh, *v, *ms;
	size_t i, k;
	int hit = 0;

	if (root && json_object_object_get_ex(root, "vhosts", &vhs) &&
	    json_object_is_type(vhs, json_type_array))
		for (i = 0; i < json_object_array_length(vhs); i++) {
			vh = json_object_array_get_idx(vhs, i);
			if (json_object_object_get_ex(vh, "port", &v) && !v)
				hit = 1;
			if (!json_object_object_get_ex(vh, "mounts", &ms) ||
			    !json_object_is_type(ms, json_type_array))
				continue;
			for (k = 0; k < json_object_array_length(ms); k++)
				if (json_object_object_get_ex(
					json_object_array_get_idx(ms, k),
					"origin", &v) && !v)
					hit = 1;
		}
	json_object_put(root);
	return hit;
}

static int
check_strip(const uint8_t *data, size_t size)
{
	char *a = malloc(size + 1), *b = malloc(size + 1);
	size_t i;
	int skip;

	if (!a || !b)
		abort();
	memcpy(a, data, size);
	a[size] = '\0';
	conf_strip_comments(a);
	for (i = 0; i < size; i++)
		CHECK("strip_only", a[i] == (char)data[i] ||
		      (a[i] == ' ' && data[i] != '\n' && data[i]));
	CHECK("strip_only", a[size] == '\0');
	memcpy(b, a, size + 1);
	conf_strip_comments(b);
	CHECK("strip_only", !memcmp(a, b, size + 1));
	json_object_put(json_tokener_parse(a));
	skip = fz_skipped("conf_null") && known_null_crash(a);
	free(a);
	free(b);
	return skip;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int ports[] = { -1, 9000, 0 };
	static const int status_ports[] = { -1, 9001, 0 };
	struct conf_overrides o;
	struct conf_summary sum;
	char out[PATH_MAX], err[256], p[PATH_MAX + 16];
	int r;

	if (size > 64 * 1024)
		return 0;
	if (check_strip(data, size))
		return 0;

	write_all(input_path, data, size);
	memset(&o, 0, sizeof(o));
	o.dir = cfg;
	o.port = ports[size % 3];
	o.status_port = status_ports[(size / 3) % 3];
	if (size & 1) {
		o.opt_name[0] = "send-ring-size";
		o.opt_value[0] = "4";
		o.opt_name[1] = "allowed-origins";
		o.opt_value[1] = "http://a, http://b";
		o.n_options = 2;
	}
	err[0] = '\0';
	r = conf_prepare(&o, out, sizeof(out), &sum, err, sizeof(err));
	if (!r) {
		snprintf(p, sizeof(p), "%s/conf", out);
		check_json_file(p);
		snprintf(p, sizeof(p), "%s/conf.d/x", out);
		check_json_file(p);
		if (o.port > 0)
			CHECK("prepare_out", sum.ws_port == o.port);
		if (o.status_port > 0)
			CHECK("prepare_out", sum.status_port == o.status_port);
		conf_remove(out);
	} else {
		CHECK("prepare_err", r == -1 && err[0]);
	}
	CHECK("conf_cleanup", dir_empty(tmpd));
	unlink(input_path);
	return 0;
}
