/*
 * rm_fail.h: allocation failure injection, for tests only.
 *
 * The allocations whose failure the hub must survive (a msg, a send
 * ring's storage, a room or a membership) ask rm_fail() first; a unit
 * test sets rm_fail_hook to make chosen ones fail, so the `overloaded`
 * and 1011 paths of PROTOCOL.md run without exhausting memory. In a
 * server the hook stays NULL and rm_fail() costs one load and a branch.
 *
 * Not thread-safe; service thread only. Pure header (the hook lives in
 * msg.c).
 */
#ifndef RM_FAIL_H
#define RM_FAIL_H

enum rm_fail_site {
	RM_FAIL_MSG,	/* msg_alloc() */
	RM_FAIL_SENDQ,	/* a send ring growing its storage */
	RM_FAIL_ROOM,	/* a room or a membership */
};

/* Returns nonzero to make the allocation at @site fail. NULL: none fail. */
extern int (*rm_fail_hook)(enum rm_fail_site site);

/* 1 if the allocation at @site must fail now. */
static inline int
rm_fail(enum rm_fail_site site)
{
	return rm_fail_hook && rm_fail_hook(site);
}

#endif
