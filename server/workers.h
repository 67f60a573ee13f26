/*
 * workers.h: roomcast-server --workers N, one process per core.
 *
 * The parent only supervises: it starts N workers, restarts one that
 * dies (after a pause that grows while workers keep dying, so a crash
 * loop does not spin), forwards SIGTERM/SIGINT to all of them and exits
 * once they are gone. The workers share the WebSocket port (SO_REUSEPORT,
 * see roomcast_listen_shared()) and, being separate processes, share
 * rooms only through Redis: N > 1 requires redis-url.
 */
#ifndef WORKERS_H
#define WORKERS_H

/*
 * Forks @n workers and supervises them. Returns in each worker with its
 * index (0 .. n-1); in the parent it returns only to exit, with the exit
 * status (-1 - index is never returned to the parent).
 */
int workers_run(unsigned int n, int *is_worker);

#endif
