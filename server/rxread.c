/*
 * rxread.c: lws reads more per turn than a connection's rx buffer holds.
 *
 * lws 4.1.6 reads at most a protocol's rx_buffer_size (+ LWS_PRE) bytes
 * from a WebSocket per turn of its loop (rops_handle_POLLIN_ws), and
 * allocates a buffer of that size for each connection's whole life
 * ("rx_ubuf", lws_process_ws_upgrade2). The plugin's 128 keeps idle
 * connections small, but then a 60 KB message takes ~470 turns, and on
 * lws's poll() loop each turn costs O(connections): 1.8 s with 12,000
 * idle connections (docs/PERFORMANCE.md, round two).
 *
 * What lws 4.1.6 writes into that buffer on a server connection with no
 * extension (roomcast-server offers none) is only a control frame's
 * payload, at most 125 bytes (lws_ws_rx_sm refuses a longer one): text
 * and binary payload is unmasked in place in the per-thread read buffer
 * and handed to the callback from there (lws_ws_frame_rest_is_payload).
 * So roomcast-server raises rx_buffer_size to the read it wants, and its
 * allocator hook gives each "rx_ubuf" of that size only the bytes lws
 * uses: LWS_PRE + 128 + 4, what the plugin's own 128 allocates. Idle
 * memory stays the same; a read brings up to conf_read_size() bytes.
 *
 * That rests on lws 4.1's parser, read in its source; any other lws
 * version keeps the plugin's 128 and its full buffers.
 */
#include "rxread.h"

#include "roomcast_lws.h"

#include <string.h>

/* What lws writes into an rx buffer at most: LWS_PRE + a control frame. */
#define RX_UBUF_USED (LWS_PRE + 128 + 4)

static struct lws_protocols protocols[16];
static size_t raised_alloc; /* the rx_ubuf size lws will ask for; 0: none */

const struct lws_protocols *
rxread_protocols(size_t read)
{
	int i;

	if (strncmp(lws_get_library_version(), "4.1.", 4) ||
	    (size_t)roomcast_protocols_count + 1 > LWS_ARRAY_SIZE(protocols))
		return roomcast_protocols;
	memcpy(protocols, roomcast_protocols,
	       ((size_t)roomcast_protocols_count + 1) * sizeof(protocols[0]));
	for (i = 0; i < roomcast_protocols_count; i++) {
		/* the WebSocket protocols are those with a buffer size */
		if (!protocols[i].rx_buffer_size ||
		    read <= protocols[i].rx_buffer_size)
			continue;
		protocols[i].rx_buffer_size = read;
		/* lws_process_ws_upgrade2(): the size, LWS_PRE, 4 for zlib */
		raised_alloc = read + LWS_PRE + 4;
	}
	return protocols;
}

size_t
rxread_trim(size_t size, const char *reason)
{
	if (!raised_alloc || size != raised_alloc || !reason ||
	    strcmp(reason, "rx_ubuf"))
		return 0;
	return RX_UBUF_USED;
}
