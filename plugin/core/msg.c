/*
 * msg.c: reference-counted, pre-framed outgoing messages (see msg.h).
 */
#include "msg.h"
#include "rm_fail.h"

#include <stdlib.h>
#include <string.h>

struct msg *
msg_alloc(size_t payload_len)
{
	struct msg *m;

	if (rm_fail(RM_FAIL_MSG))
		return NULL;
	m = malloc(sizeof(*m) + MSG_HEADROOM + MSG_MAX_FRAME_HDR + payload_len);
	if (!m)
		return NULL;
	m->refs = 1;
	m->hdr_len = 0;
	m->payload_len = payload_len;
	return m;
}

struct msg *
msg_from_text(const char *payload, size_t len)
{
	struct msg *m = msg_alloc(len);

	if (!m)
		return NULL;
	memcpy(msg_payload(m), payload, len);
	msg_seal(m);
	return m;
}

/* NULL but in the tests that inject allocation failures (rm_fail.h). */
int (*rm_fail_hook)(enum rm_fail_site site);

void
msg_seal(struct msg *m)
{
	unsigned char hdr[MSG_MAX_FRAME_HDR];
	size_t len = m->payload_len;
	unsigned int n = 0, i;

	hdr[n++] = 0x81;	/* FIN, text; RSV1 clear: never compressed */
	if (len < 126) {
		hdr[n++] = (unsigned char)len;
	} else if (len < 65536) {
		hdr[n++] = 126;
		hdr[n++] = (unsigned char)(len >> 8);
		hdr[n++] = (unsigned char)len;
	} else {
		hdr[n++] = 127;
		for (i = 0; i < 8; i++)
			hdr[n++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	m->hdr_len = n;
	memcpy((unsigned char *)msg_frame(m), hdr, n);
}

void
msg_unref(struct msg *m)
{
	if (m && !--m->refs)
		free(m);
}
