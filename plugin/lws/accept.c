/*
 * accept.c: a listening socket shared by several processes
 * (roomcast-server --workers N).
 *
 * lws 4.1.6 sets SO_REUSEPORT on its own listeners only when it runs
 * several service threads (LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE is ignored
 * with LWS_MAX_SMP 1, lib/roles/http/server/server.c), so each worker
 * makes its own SO_REUSEPORT listener on the WebSocket port, the kernel
 * spreads new connections over the workers, and the WebSocket vhost is
 * created without a listener of its own. The socket is adopted into lws
 * as a raw descriptor (lws reports it readable); each connection accepted
 * is handed to the vhost with lws_adopt_socket_vhost(), where it goes
 * through the same handshake (TLS included) as one lws accepted itself.
 */
#define _GNU_SOURCE	/* accept4 */
#include "glue.h"
#include "roomcast_lws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connections taken per readiness report: others wait for the next turn. */
#define ACCEPT_BURST 256

int
callback_roomcast_accept(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_opaque_user_data(wsi);
	int i, fd;

	if (reason != LWS_CALLBACK_RAW_RX_FILE || !vh)
		return 0;
	for (i = 0; i < ACCEPT_BURST; i++) {
		lws_sock_file_fd_type sfd;

		fd = accept4(lws_get_socket_fd(wsi), NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				lwsl_warn("%s: accept: %s\n", __func__,
					  strerror(errno));
			break;
		}
		sfd.sockfd = fd;
		/* on failure lws closes fd */
		lws_adopt_descriptor_vhost(vh, LWS_ADOPT_SOCKET |
					   LWS_ADOPT_HTTP |
					   LWS_ADOPT_ALLOW_SSL, sfd, NULL,
					   NULL);
	}
	return 0;
}

/* A non-blocking SO_REUSEPORT listener on @port, dual-stack if it can. */
static int
listener(int port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, zero = 0, fd;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
				   sizeof(zero)) ||
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
				   sizeof(one)) ||
			bind(fd, (struct sockaddr *)&a6, sizeof(a6)))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
		if (fd < 0)
			return -1;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
			       sizeof(one)) ||
		    bind(fd, (struct sockaddr *)&a4, sizeof(a4))) {
			close(fd);
			return -1;
		}
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (listen(fd, SOMAXCONN)) {	/* as lws's own listeners */
		close(fd);
		return -1;
	}
	return fd;
}

int
roomcast_listen_shared(struct lws_vhost *vh, int port)
{
	lws_sock_file_fd_type sfd;
	struct lws *wsi;

	sfd.filefd = listener(port);
	if (sfd.filefd < 0) {
		lwsl_err("roomcast: cannot listen on port %d (SO_REUSEPORT): "
			 "%s\n", port, strerror(errno));
		return -1;
	}
	wsi = lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, sfd,
					 ROOMCAST_ACCEPT_PROTOCOL, NULL);
	if (!wsi)
		return -1;	/* lws closed it */
	lws_set_opaque_user_data(wsi, vh);
	return 0;
}
