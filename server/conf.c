/*
 * conf.c: command-line overrides applied to a copy of an lwsws-format
 * config directory (see conf.h).
 */
#include "conf.h"
#include "roomcast_names.h"
#include "status_names.h"

#include <json-c/json.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
conf_strip_comments(char *text)
{
	int in_string = 0, escaped = 0;
	char *p;

	for (p = text; *p; p++) {
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (*p == '\\')
				escaped = 1;
			else if (*p == '"')
				in_string = 0;
			continue;
		}
		if (*p == '"')
			in_string = 1;
		else if (*p == '#')
			while (*p && *p != '\n')
				*p++ = ' ';
		if (!*p)
			break;
	}
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		goto bail;
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
		goto bail;
	}
	buf[len] = '\0';
bail:
	fclose(f);
	return buf;
}

static struct json_object *
read_json(const char *path, char *err, size_t errlen)
{
	struct json_object *o;
	char *text = read_file(path);

	if (!text) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	conf_strip_comments(text);
	o = json_tokener_parse(text);
	free(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "%s is not a JSON object", path);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Member @key of @o if it is a JSON string, else NULL. */
static const char *
get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The "roomcast.v1" options object of a vhost, or NULL. */
static struct json_object *
roomcast_pvo(struct json_object *vhost)
{
	struct json_object *list, *entry, *pvo;
	size_t i;

	if (!json_object_object_get_ex(vhost, "ws-protocols", &list) ||
	    !json_object_is_type(list, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(list); i++) {
		entry = json_object_array_get_idx(list, i);
		if (json_object_object_get_ex(entry, ROOMCAST_CONFIG_NAME, &pvo) &&
		    json_object_is_type(pvo, json_type_object))
			return pvo;
	}
	return NULL;
}

static int
mounts_status(struct json_object *vhost)
{
	struct json_object *mounts;
	const char *o;
	size_t i;

	if (!json_object_object_get_ex(vhost, "mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(mounts); i++) {
		o = get_str(json_object_array_get_idx(mounts, i), "origin");
		if (o && !strcmp(o, ROOMCAST_STATUS_ORIGIN))
			return 1;
	}
	return 0;
}

/* Rewrites relative file:// origins as absolute paths under @base. */
static void
absolute_origins(struct json_object *vhost, const char *base)
{
	struct json_object *mounts, *mount;
	char path[PATH_MAX + 16];
	const char *o;
	size_t i;

	if (!json_object_object_get_ex(vhost, "mounts", &mounts) ||
	    !json_object_is_type(mounts, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(mounts); i++) {
		mount = json_object_array_get_idx(mounts, i);
		o = get_str(mount, "origin");
		if (!o || strncmp(o, "file://", 7) || o[7] == '/')
			continue;
		snprintf(path, sizeof(path), "file://%s/%s", base, o + 7);
		json_object_object_add(mount, "origin",
				       json_object_new_string(path));
	}
}

static void
set_port(struct json_object *vhost, int port)
{
	char s[16];

	snprintf(s, sizeof(s), "%d", port);
	json_object_object_add(vhost, "port", json_object_new_string(s));
}

static int
port_of(struct json_object *vhost)
{
	const char *p = get_str(vhost, "port");

	return p ? atoi(p) : -1;
}

/*
 * Takes the process-wide options (rconf.h, scope) that vhost @vh's
 * roomcast options @pvo give into @sum. Returns 0, or -1 with @err naming
 * the option and both vhosts when an earlier vhost gave another value.
 */
static int
take_process_options(struct json_object *vh, struct json_object *pvo,
		     struct conf_summary *sum, char *err, size_t errlen)
{
	const char *name = get_str(vh, "name");
	char why[256];
	struct rconf c;
	int r = 0;

	if (!name)
		name = "(no name)";
	rconf_init(&c);
	json_object_object_foreach(pvo, key, val) {
		/* lws reads only strings; anything else is no option to it */
		if (r || rconf_scope_of(key) != RCONF_SCOPE_PROCESS ||
		    !json_object_is_type(val, json_type_string))
			continue;
		if (rconf_set(&c, key, json_object_get_string(val), why,
			      sizeof(why))) {
			snprintf(err, errlen, "vhost '%s': %s", name, why);
			r = -1;
		}
	}
	if (!r && rconf_process_take(&sum->options, &c, name, err, errlen))
		r = -1;
	rconf_free(&c);
	return r;
}

size_t
conf_read_size(unsigned int ring_size, size_t ring_bytes)
{
	/* 3/8 of the ring per read: 1/4 held + 3/8 + 3/8 <= the whole */
	size_t by_count = (size_t)ring_size * 45 * 3 / 8,
	       by_bytes = ring_bytes * 3 / 8 / 4,
	       n = by_count < by_bytes ? by_count : by_bytes;

	return n < 128 ? 128 : n > 4096 ? 4096 : n;
}

/* Lowers sum->read_size to what vhost options @pvo's send ring allows. */
static void
note_ring(struct json_object *pvo, struct conf_summary *sum)
{
	const char *v;
	struct rconf c;
	char why[256];
	size_t n;

	rconf_init(&c);
	/* a bad value stops the vhost later (rconf_set in the plugin) */
	if ((v = get_str(pvo, "send-ring-size")))
		(void)rconf_set(&c, "send-ring-size", v, why, sizeof(why));
	if ((v = get_str(pvo, "send-ring-bytes")))
		(void)rconf_set(&c, "send-ring-bytes", v, why, sizeof(why));
	n = conf_read_size(c.send_ring_size, c.send_ring_bytes);
	if (n < sum->read_size)
		sum->read_size = n;
	rconf_free(&c);
}

/* Notes the API key options (for `roomcast-server publish`). */
static void
note_api(struct json_object *pvo, struct conf_summary *sum)
{
	const char *k = get_str(pvo, "api-key"), *f = get_str(pvo,
							     "api-key-file");

	if (k)
		snprintf(sum->api_key, sizeof(sum->api_key), "%s", k);
	if (f)
		snprintf(sum->api_key_file, sizeof(sum->api_key_file), "%s", f);
}

/* Applies the overrides to one file's vhosts. Returns 0 or -1. */
static int
override_vhosts(struct json_object *root, const struct conf_overrides *o,
		const char *base, struct conf_summary *sum, char *err,
		size_t errlen)
{
	struct json_object *vhosts, *vh, *pvo, *kept;
	size_t i;
	unsigned int k;

	if (!json_object_object_get_ex(root, "vhosts", &vhosts) ||
	    !json_object_is_type(vhosts, json_type_array))
		return 0;
	kept = json_object_new_array();
	for (i = 0; i < json_object_array_length(vhosts); i++) {
		vh = json_object_array_get_idx(vhosts, i);
		absolute_origins(vh, base);
		pvo = roomcast_pvo(vh);
		if (pvo) {
			if (sum->ws_port >= 0 && o->port >= 0) {
				snprintf(err, errlen, "--port: the config has "
					 "more than one roomcast.v1 vhost");
				json_object_put(kept);
				return -1;
			}
			if (o->port >= 0)
				set_port(vh, o->port);
			else if (o->port == CONF_PORT_NO_LISTEN)
				set_port(vh, -1);	/* --workers: accept.c */
			sum->ws_port = port_of(vh);
			sum->ws_tls = get_str(vh, "host-ssl-cert") != NULL;
			for (k = 0; k < o->n_options; k++)
				json_object_object_add(pvo, o->opt_name[k],
					json_object_new_string(o->opt_value[k]));
			if (take_process_options(vh, pvo, sum, err, errlen)) {
				json_object_put(kept);
				return -1;
			}
			/*
			 * "roomcast": {} serves with defaults: as the vhost's
			 * default protocol (its handshake checks), and with an
			 * option, so the glue sees it listed (plugin/lws/vhost.c)
			 */
			if (!json_object_object_get_ex(pvo, "default", NULL))
				json_object_object_add(pvo, "default",
					json_object_new_string("1"));
			note_api(pvo, sum);
			note_ring(pvo, sum);
			/* --option's values are in pvo by now */
			if (get_str(pvo, "redis-url"))
				sum->redis = 1;
		} else if (mounts_status(vh)) {
			if (o->status_port == 0)
				continue;	/* --status-port 0: no status vhost */
			if (o->status_port > 0)
				set_port(vh, o->status_port);
			sum->status_port = port_of(vh);
			snprintf(sum->status_iface, sizeof(sum->status_iface),
				 "%s", get_str(vh, "interface") ?
				 get_str(vh, "interface") : "");
		}
		json_object_array_add(kept, json_object_get(vh));
	}
	json_object_object_add(root, "vhosts", kept);
	return 0;
}

static int
write_json(const char *path, struct json_object *o, char *err, size_t errlen)
{
	if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY |
				    JSON_C_TO_STRING_NOSLASHESCAPE)) {
		snprintf(err, errlen, "cannot write %s", path);
		return -1;
	}
	return 0;
}

/* Copies one config file to @to_dir, overridden. */
static int
copy_file(const char *from, const char *to_dir, const char *name,
	  const struct conf_overrides *o, const char *base,
	  struct conf_summary *sum, char *err, size_t errlen)
{
	char to[PATH_MAX + 288];
	struct json_object *root = read_json(from, err, errlen);
	int r;

	if (!root)
		return -1;
	snprintf(to, sizeof(to), "%s/%s", to_dir, name);
	r = override_vhosts(root, o, base, sum, err, errlen);
	if (!r)
		r = write_json(to, root, err, errlen);
	json_object_put(root);
	return r;
}

int
conf_prepare(const struct conf_overrides *o, char *out, size_t outlen,
	     struct conf_summary *sum, char *err, size_t errlen)
{
	char base[PATH_MAX], from[PATH_MAX + 16], to_d[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");
	struct dirent *de;
	DIR *d;
	int r = 0;

	memset(sum, 0, sizeof(*sum));
	sum->ws_port = sum->status_port = -1;
	sum->read_size = 4096;
	rconf_process_init(&sum->options);
	if (!realpath(o->dir, base)) {
		snprintf(err, errlen, "--config %s: %s", o->dir,
			 strerror(errno));
		return -1;
	}
	/* lws's reader keeps paths in 128-byte buffers: stay short */
	snprintf(out, outlen, "%s/roomcast-XXXXXX",
		 tmp && strlen(tmp) < 64 ? tmp : "/tmp");
	if (!mkdtemp(out)) {
		snprintf(err, errlen, "cannot make a temporary directory: %s",
			 strerror(errno));
		return -1;
	}
	snprintf(from, sizeof(from), "%s/conf", base);
	snprintf(to_d, sizeof(to_d), "%s/conf.d", out);
	if (copy_file(from, out, "conf", o, base, sum, err, errlen) ||
	    mkdir(to_d, 0700))
		goto bail;
	snprintf(from, sizeof(from), "%s/conf.d", base);
	d = opendir(from);
	if (!d) {
		snprintf(err, errlen, "cannot read %s: %s", from,
			 strerror(errno));
		goto bail;
	}
	while (!r && (de = readdir(d))) {
		char f[PATH_MAX + 288];
		struct stat st;

		snprintf(f, sizeof(f), "%s/%s", from, de->d_name);
		if (de->d_name[0] == '.' || stat(f, &st) || !S_ISREG(st.st_mode))
			continue;
		r = copy_file(f, to_d, de->d_name, o, base, sum, err, errlen);
	}
	closedir(d);
	if (r)
		goto bail;
	if (o->port >= 0 && sum->ws_port < 0) {
		snprintf(err, errlen, "--port: the config has no vhost with "
			 "ws-protocols " ROOMCAST_CONFIG_NAME);
		goto bail;
	}
	if (o->status_port > 0 && sum->status_port < 0) {
		snprintf(err, errlen, "--status-port: the config has no vhost "
			 "mounting " ROOMCAST_STATUS_ORIGIN);
		goto bail;
	}
	return 0;

bail:
	conf_remove(out);
	return -1;
}

void
conf_remove(const char *dir)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(p, sizeof(p), "%s/conf.d", dir);
	d = opendir(p);
	if (d) {
		while ((de = readdir(d))) {
			char f[PATH_MAX + 256];

			if (de->d_name[0] == '.')
				continue;
			snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
			unlink(f);
		}
		closedir(d);
		rmdir(p);
	}
	snprintf(p, sizeof(p), "%s/conf", dir);
	unlink(p);
	rmdir(dir);
}
