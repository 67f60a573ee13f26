/*
 * rxread.h: how much lws reads from a roomcast connection per turn of its
 * loop, raised above the per-connection rx buffer's size (see rxread.c).
 */
#ifndef RXREAD_H
#define RXREAD_H

#include <libwebsockets.h>

#include <stddef.h>

/*
 * roomcast_protocols with each WebSocket protocol reading @read bytes per
 * turn (conf_read_size()), when this lws is one whose rx buffers the
 * allocator hook may trim (rxread_trim()); otherwise roomcast_protocols
 * as they are. Call once, before lws_create_context().
 */
const struct lws_protocols *rxread_protocols(size_t read);

/*
 * For the allocator hook (hspool.c): the size to allocate instead of
 * @size for an allocation lws tags @reason, or 0 to allocate @size.
 */
size_t rxread_trim(size_t size, const char *reason);

#endif
