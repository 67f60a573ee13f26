/*
 * history.c: a room's last broadcasts (see history.h).
 */
#include "history.h"
#include "msg.h"

#include <stdlib.h>

void
history_init(struct history *hs, unsigned int cap)
{
	hs->slot = NULL;
	hs->cap = cap;
	hs->head = hs->count = 0;
	hs->bytes = 0;
}

void
history_clear(struct history *hs)
{
	while (hs->count)
		history_drop_oldest(hs);
	free(hs->slot);
	hs->slot = NULL;
	hs->head = 0;
}

void
history_drop_oldest(struct history *hs)
{
	struct msg *m = hs->slot[hs->head];

	hs->bytes -= msg_frame_len(m);
	msg_unref(m);
	hs->head = (hs->head + 1) % hs->cap;
	hs->count--;
}

int
history_push(struct history *hs, struct msg *m)
{
	if (!hs->cap)
		return 0;
	if (!hs->slot) {
		hs->slot = malloc(hs->cap * sizeof(*hs->slot));
		if (!hs->slot)
			return -1;	/* OOM: the room just keeps no history */
	}
	if (hs->count == hs->cap)
		history_drop_oldest(hs);
	hs->slot[(hs->head + hs->count) % hs->cap] = msg_ref(m);
	hs->count++;
	hs->bytes += msg_frame_len(m);
	return 0;
}
