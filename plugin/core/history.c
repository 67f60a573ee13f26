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
}

void
history_clear(struct history *hs)
{
	while (hs->count) {
		msg_unref(hs->slot[hs->head]);
		hs->head = (hs->head + 1) % hs->cap;
		hs->count--;
	}
	free(hs->slot);
	hs->slot = NULL;
	hs->head = 0;
}

void
history_push(struct history *hs, struct msg *m)
{
	if (!hs->cap)
		return;
	if (!hs->slot) {
		hs->slot = malloc(hs->cap * sizeof(*hs->slot));
		if (!hs->slot)
			return;		/* OOM: the room just keeps no history */
	}
	if (hs->count == hs->cap) {
		msg_unref(hs->slot[hs->head]);
		hs->head = (hs->head + 1) % hs->cap;
		hs->count--;
	}
	hs->slot[(hs->head + hs->count) % hs->cap] = msg_ref(m);
	hs->count++;
}
