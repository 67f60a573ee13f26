/*
 * rooms.h: the room table and the two-way membership index.
 *
 * room id -> room -> its members, and client -> the rooms it is in (as
 * Redis pubsub keeps channel -> clients and client -> channels), so that
 * a broadcast walks one room's members and a closing connection leaves
 * all its rooms without a search. A room lives exactly as long as it has
 * members: the caller frees it with its last member, which bounds memory
 * against room-name spam.
 *
 * Room ids are the clients' choice, so the table is a keyed htable
 * (htable.h): no one can pick ids that pile into one bucket.
 *
 * Members point at an opaque client; rooms never look inside it.
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef ROOMS_H
#define ROOMS_H

#include "htable.h"

#include <stddef.h>
#include <stdint.h>

struct member;

struct room {
	struct htable_node hnode;	/* in the table, by id */
	struct member *members;		/* doubly linked through rprev/rnext */
	unsigned int n_members;
	uint64_t seq;			/* last accepted broadcast's seq */
	uint64_t generation;		/* which incarnation of this id */
	void *data;			/* the owner's, freed by its free hook */
	size_t id_len;
	char id[];			/* NUL-terminated */
};

struct member {
	struct room *room;
	void *client;
	struct member *rprev, *rnext;	/* in room->members */
	struct member *cnext;		/* in the client's own list */
};

struct rooms;

/* Creates an empty table; NULL on OOM. */
struct rooms *rooms_create(void);

/* Frees the table, every room and every membership still in it. */
void rooms_destroy(struct rooms *t);

/* Has @fn called with each room just before the table frees it. */
void rooms_set_free_hook(struct rooms *t, void (*fn)(struct room *room));

/* The room called @id, or NULL. */
struct room *rooms_find(struct rooms *t, const char *id, size_t len);

/*
 * The room called @id, created empty (seq 0, a new generation) if it does
 * not exist. Returns NULL on OOM.
 */
struct room *rooms_get_or_create(struct rooms *t, const char *id, size_t len);

/* Rooms in the table now. */
size_t rooms_count(const struct rooms *t);

/* The most rooms that share a bucket: for tests of the hash. */
size_t rooms_longest_chain(const struct rooms *t);

/*
 * The membership of the client whose list is @client_list in @room, or
 * NULL. Linear in the client's rooms (bounded by max-rooms-per-connection).
 */
struct member *rooms_member_of(struct member *client_list,
			       const struct room *room);

/*
 * Adds @client to @room and links the membership into *@client_list.
 * Returns the membership, or NULL on OOM.
 */
struct member *rooms_add_member(struct room *room, void *client,
				struct member **client_list);

/*
 * Removes membership @m from its room and from *@client_list and frees
 * it. If the room is left empty it is freed too. Returns 1 if the room
 * was freed.
 */
int rooms_remove_member(struct rooms *t, struct member *m,
			struct member **client_list);

/* Frees @room if it has no members. Returns 1 if it was freed. */
int rooms_free_if_empty(struct rooms *t, struct room *room);

#endif
