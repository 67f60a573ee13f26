/*
 * cli.c: `roomcast-server publish` (see cli.h): one POST /api/publish
 * over a plain HTTP/1.1 connection to the status vhost, the answer
 * printed as it came.
 */
#include "cli.h"
#include "conf.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CLI_KEY_MAX 4096
#define CLI_TIMEOUT_S 10

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: roomcast-server publish [--config DIR] [--status-port N]\n"
		"                       [--option NAME=VALUE]... [--sender USER]\n"
		"                       [--idempotency-key KEY] ROOM JSON\n"
		"\n"
		"Posts JSON (any JSON value) into room ROOM through the server API\n"
		"(POST /api/publish on the status vhost). The status address and\n"
		"the key (api-key / api-key-file) are read from the config, as\n"
		"the server reads them (default config: %s).\n"
		"\n"
		"example:\n"
		"  roomcast-server publish --config /etc/roomcast lobby \\\n"
		"      '{\"text\":\"maintenance at 22:00\"}'\n"
		"prints the answer, e.g. {\"room_id\":\"lobby\",\"seq\":12,"
		"\"epoch\":\"1f2e3d4c-1\"}\n",
		RM_DEFAULT_CONFIG_DIR);
}

/* The key from the config: api-key, or api-key-file's first line. */
static int
load_key(const struct conf_summary *sum, char *key, size_t len)
{
	FILE *f;
	size_t n;

	if (sum->api_key[0]) {
		snprintf(key, len, "%s", sum->api_key);
		return 0;
	}
	if (!sum->api_key_file[0]) {
		fprintf(stderr, "roomcast-server publish: the config sets no "
			"api-key or api-key-file: the API is off\n");
		return -1;
	}
	f = fopen(sum->api_key_file, "rb");
	if (!f) {
		fprintf(stderr, "roomcast-server publish: cannot read "
			"api-key-file %s\n", sum->api_key_file);
		return -1;
	}
	n = fread(key, 1, len - 1, f);
	fclose(f);
	key[n] = '\0';
	key[strcspn(key, "\r\n")] = '\0';
	while (n && (key[strlen(key) - 1] == ' ' ||
		     key[strlen(key) - 1] == '\t'))
		key[strlen(key) - 1] = '\0';
	return key[0] ? 0 : -1;
}

/* The body: {"room_id":ROOM,"content":JSON[,"sender"][,"idempotency_key"]}. */
static char *
make_body(const char *room, const char *json, const char *sender,
	  const char *idem)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o, *content;
	char *body = NULL;

	if (!tok)
		return NULL;
	/* -1: up to and with the NUL, so a bare number is complete */
	content = json_tokener_parse_ex(tok, json, -1);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json[tok->char_offset + strspn(json + tok->char_offset,
					    " \t\r\n")]) {
		fprintf(stderr, "roomcast-server publish: JSON is not one JSON "
			"value: %s\n", json);
		json_object_put(content);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	o = json_object_new_object();
	json_object_object_add(o, "room_id", json_object_new_string(room));
	json_object_object_add(o, "content", content);
	if (sender)
		json_object_object_add(o, "sender",
				       json_object_new_string(sender));
	if (idem)
		json_object_object_add(o, "idempotency_key",
				       json_object_new_string(idem));
	body = strdup(json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return body;
}

/* Connects to @host:@port (IPv4; a name or none means 127.0.0.1). */
static int
connect_to(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = CLI_TIMEOUT_S };
	int fd;

	sa.sin_port = htons((uint16_t)port);
	if (!host[0] || !strcmp(host, "0.0.0.0") ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* POSTs @body; prints the answer's body; returns the HTTP status or -1. */
static int
post(const char *host, int port, const char *key, const char *body)
{
	char head[CLI_KEY_MAX + 256], resp[65536];
	size_t got = 0;
	ssize_t n;
	int fd = connect_to(host, port), status = -1;
	char *eoh;

	if (fd < 0)
		return -1;
	snprintf(head, sizeof(head), "POST /api/publish HTTP/1.1\r\n"
		 "Host: %s:%d\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", host[0] ? host : "127.0.0.1",
		 port, key, strlen(body));
	if (send_all(fd, head, strlen(head)) ||
	    send_all(fd, body, strlen(body)))
		goto bail;
	while (got < sizeof(resp) - 1 &&
	       (n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	eoh = strstr(resp, "\r\n\r\n");
	if (eoh)
		printf("%s\n", eoh + 4);
bail:
	memset(head, 0, sizeof(head));
	close(fd);
	return status;
}

struct cli_args {
	struct conf_overrides o;
	const char *sender, *idem, *room, *json;
};

/* Returns 0 to go on, 1 after --help, -1 for a bad command line. */
static int
parse_cli(int argc, char **argv, struct cli_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "status-port", required_argument, NULL, 's' },
		{ "option", required_argument, NULL, 'o' },
		{ "sender", required_argument, NULL, 'u' },
		{ "idempotency-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *eq;
	int ch;

	memset(a, 0, sizeof(*a));
	a->o.dir = RM_DEFAULT_CONFIG_DIR;
	a->o.port = a->o.status_port = -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:o:u:k:h", longopts,
				 NULL)) != -1) {
		if (ch == 'c') {
			a->o.dir = optarg;
		} else if (ch == 's') {
			a->o.status_port = atoi(optarg);
		} else if (ch == 'o') {
			eq = strchr(optarg, '=');
			if (!eq || a->o.n_options == CONF_MAX_OPTIONS)
				return -1;
			*eq = '\0';
			a->o.opt_name[a->o.n_options] = optarg;
			a->o.opt_value[a->o.n_options++] = eq + 1;
		} else if (ch == 'u') {
			a->sender = optarg;
		} else if (ch == 'k') {
			a->idem = optarg;
		} else if (ch == 'h') {
			return 1;
		} else {
			return -1;
		}
	}
	if (argc - optind != 2)
		return -1;
	a->room = argv[optind];
	a->json = argv[optind + 1];
	return 0;
}

int
cli_publish(int argc, char **argv)
{
	struct cli_args a;
	struct conf_summary sum;
	char dir[128], err[256], key[CLI_KEY_MAX], *body;
	int st = parse_cli(argc, argv, &a);

	if (st) {
		usage(st > 0 ? stdout : stderr);
		return st > 0 ? 0 : 2;
	}
	if (conf_prepare(&a.o, dir, sizeof(dir), &sum, err, sizeof(err))) {
		fprintf(stderr, "roomcast-server publish: %s\n", err);
		return 2;
	}
	conf_remove(dir);
	if (sum.status_port <= 0) {
		fprintf(stderr, "roomcast-server publish: the config has no "
			"status vhost (the API is served there)\n");
		return 2;
	}
	if (load_key(&sum, key, sizeof(key)))
		return 2;
	body = make_body(a.room, a.json, a.sender, a.idem);
	if (!body)
		return 2;
	st = post(sum.status_iface, sum.status_port, key, body);
	memset(key, 0, sizeof(key));
	free(body);
	if (st < 0) {
		fprintf(stderr, "roomcast-server publish: no answer from the "
			"status vhost on port %d\n", sum.status_port);
		return 1;
	}
	return st >= 200 && st < 300 ? 0 : 1;
}
