/*
 * hub_api.h: what the server API (PROTOCOL.md, Server API) asks of the hub.
 *
 * A publish takes the same path as a member's broadcast: accepted once
 * (numbered, encoded: hub_accept_broadcast), held in history, delivered
 * to the local members (hub_deliver). hub_publish() is the one entry point
 * for every API publish, single or many rooms, so a message bus between
 * processes has one place to hook.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef HUB_API_H
#define HUB_API_H

#include "hub.h"
#include "idem.h"

#include <stddef.h>
#include <stdint.h>

/* WebSocket close code of a connection closed through the API. */
#define HUB_CLOSE_API_DISCONNECT 4005

/* A publish's answer: the room's seq and epoch for the message. */
struct hub_pub_result {
	uint64_t seq;
	char epoch[IDEM_EPOCH_MAX];
	int repeated;		/* an idempotency key's earlier result */
};

/*
 * Publishes @content (@content_len bytes of JSON) to room @room_id (valid)
 * from @sender (a valid user id), as a member's broadcast. A room not held
 * is made (new epoch) as a join makes one (hub_room_open: history as the
 * hub's process-wide options say), and freed again at once when history
 * is off and it has no members (hub_room_done). With @idem_key
 * (@idem_len bytes, 1-IDEM_KEY_MAX; NULL for none) a key already used for
 * the room within IDEM_TTL_MS gets its first result and delivers nothing.
 * Returns RM_OK with @out filled, or RM_E_NOMEM (nothing was done).
 */
int hub_publish(struct hub *h, const char *room_id, const char *sender,
		const char *content, size_t content_len, const char *idem_key,
		size_t idem_len, int64_t now_ms, struct hub_pub_result *out);

/*
 * Sends {"type":"direct","from":@from,...} to every connection of user
 * @to (a guest id too). Returns the connections reached, or RM_E_NOMEM.
 */
int hub_api_direct(struct hub *h, const char *from, const char *to,
		   const char *content, size_t content_len);

/*
 * Asks every connection of user @user_id (a guest id too) to close with
 * HUB_CLOSE_API_DISCONNECT. Returns how many.
 */
unsigned int hub_api_disconnect(struct hub *h, const char *user_id);

/*
 * The API's answer about room @room_id, {"room_id","members","users",
 * "seq","epoch"}, users limited as the `members` message's (at most
 * @max_bytes of them). Returns a malloc'd NUL-terminated text (length in
 * @len), or NULL: *@found is 0 for a room not held, else out of memory.
 */
char *hub_api_room(struct hub *h, const char *room_id, size_t max_bytes,
		   size_t *len, int *found);

/*
 * The API's answer with room @room_id's last @limit held messages (0: 100)
 * {"room_id","epoch","messages"}, as the `history` message holds them.
 * Returns a malloc'd text (length in @len), or NULL: *@found is 0 for a
 * room not held, else out of memory.
 */
char *hub_api_history(struct hub *h, const char *room_id, uint64_t limit,
		      size_t *len, int *found);

/*
 * hub_api_room()'s text from a `members` message @members (not taken) and
 * the room's @seq and @epoch: for a cluster, whose rooms span processes.
 * Returns a malloc'd text (length in @len), or NULL (out of memory).
 */
char *hub_api_room_text(uint64_t seq, const char *epoch, struct msg *members,
			size_t *len);

/*
 * hub_api_history()'s text from @n messages @msgs (oldest first) of room
 * @room_id, epoch @epoch: for a cluster, whose history lives in Redis.
 * Returns a malloc'd text (length in @len), or NULL (out of memory).
 */
char *hub_api_history_text(const char *room_id, const char *epoch,
			   struct msg *const *msgs, unsigned int n,
			   size_t *len);

/* Drops expired idempotency keys (a sweep calls it now and then). */
void hub_api_sweep(struct hub *h, int64_t now_ms);

/* Idempotency keys held now (tests, stats). */
unsigned int hub_api_idem_count(const struct hub *h);

#endif
