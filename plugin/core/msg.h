/*
 * msg.h: one outgoing server message, encoded once, shared by every
 * recipient.
 *
 * A msg holds a complete, unmasked WebSocket text frame (header + JSON
 * payload), so the same bytes go to every member and several queued msgs
 * can leave in one write. Before the frame there are at least MSG_HEADROOM
 * free bytes, so a transport that wants room in front of the data (lws's
 * LWS_PRE) can use the msg in place.
 *
 * Immutable once msg_seal()ed; reference-counted: msg_alloc() returns a
 * msg holding one reference, msg_ref() adds one, msg_unref() drops one and
 * frees the msg with its last. Not thread-safe; service thread only.
 */
#ifndef MSG_H
#define MSG_H

#include <stddef.h>
#include <stdint.h>

/* lws needs LWS_PRE (16 on 64-bit builds) bytes before what it writes. */
#define MSG_HEADROOM 16
/* The largest WebSocket frame header a server writes (no mask). */
#define MSG_MAX_FRAME_HDR 10

struct msg {
	uint32_t refs;
	uint32_t hdr_len;	/* bytes of frame header before the payload */
	size_t payload_len;
	unsigned char buf[];	/* headroom, header, payload */
};

/*
 * Allocates a msg for a text payload of exactly @payload_len bytes, which
 * the caller then writes at msg_payload() before msg_seal(). Returns NULL
 * when out of memory.
 */
struct msg *msg_alloc(size_t payload_len);

/* Copies @len bytes of @payload into a new sealed msg, or returns NULL. */
struct msg *msg_from_text(const char *payload, size_t len);

/* Where the payload is written; valid between msg_alloc and msg_seal. */
static inline char *
msg_payload(struct msg *m)
{
	return (char *)m->buf + MSG_HEADROOM + MSG_MAX_FRAME_HDR;
}

/* Writes the frame header in front of the payload. */
void msg_seal(struct msg *m);

/* The frame (header + payload) and its length. */
static inline const unsigned char *
msg_frame(const struct msg *m)
{
	return m->buf + MSG_HEADROOM + MSG_MAX_FRAME_HDR - m->hdr_len;
}

static inline size_t
msg_frame_len(const struct msg *m)
{
	return m->hdr_len + m->payload_len;
}

static inline const char *
msg_text(const struct msg *m)
{
	return (const char *)m->buf + MSG_HEADROOM + MSG_MAX_FRAME_HDR;
}

static inline struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}

/* Drops one reference; frees @m with its last. msg_unref(NULL) is a no-op. */
void msg_unref(struct msg *m);

#endif
