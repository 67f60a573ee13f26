/*
 * workers.c: the supervising parent of roomcast-server --workers (see
 * workers.h).
 */
#include "workers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS_MAX 256
/* A worker that lived less than this counts as a crash loop. */
#define WORKERS_QUICK_DEATH_S 5

static volatile sig_atomic_t stop_sig;

static void
on_stop(int sig)
{
	stop_sig = sig;
}

/* Forks worker @i; returns its pid, 0 in the worker, -1 on failure. */
static pid_t
spawn(unsigned int i)
{
	char v[16];
	pid_t pid = fork();

	if (pid)
		return pid;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	snprintf(v, sizeof(v), "%u", i);
	setenv("ROOMCAST_WORKER", v, 1);
	return 0;
}

static void
signal_all(const pid_t *pids, unsigned int n, int sig)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], sig);
}

/* Restarts what died; returns 1 in a new worker (its index in *@idx). */
static int
reap(pid_t *pids, time_t *born, unsigned int n, unsigned int *idx,
     unsigned int *quick)
{
	int status;
	pid_t pid;
	unsigned int i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < n && pids[i] != pid; i++)
			;
		if (i == n)
			continue;
		pids[i] = 0;
		if (stop_sig)
			continue;
		fprintf(stderr, "roomcast-server: worker %u (pid %d) %s %d; "
			"restarting it\n", i, (int)pid, WIFSIGNALED(status) ?
			"killed by signal" : "exited with",
			WIFSIGNALED(status) ? WTERMSIG(status)
					    : WEXITSTATUS(status));
		*quick = time(NULL) - born[i] < WORKERS_QUICK_DEATH_S
			? *quick + 1 : 0;
		if (*quick)	/* a crash loop: 1 s, 2 s, ... at most 30 s */
			sleep(*quick < 30 ? *quick : 30);
		born[i] = time(NULL);
		pids[i] = spawn(i);
		if (!pids[i]) {
			*idx = i;
			return 1;
		}
	}
	return 0;
}

int
workers_run(unsigned int n, int *is_worker)
{
	pid_t pids[WORKERS_MAX] = { 0 };
	time_t born[WORKERS_MAX];
	unsigned int i, quick = 0, alive;

	*is_worker = 0;
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	for (i = 0; i < n && i < WORKERS_MAX; i++) {
		born[i] = time(NULL);
		pids[i] = spawn(i);
		if (!pids[i]) {
			*is_worker = 1;
			return (int)i;
		}
		if (pids[i] < 0) {
			fprintf(stderr, "roomcast-server: fork: %s\n",
				strerror(errno));
			stop_sig = SIGTERM;
			break;
		}
	}
	for (;;) {
		if (stop_sig) {
			signal_all(pids, n, SIGTERM);
			break;
		}
		if (reap(pids, born, n, &i, &quick)) {
			*is_worker = 1;
			return (int)i;
		}
		usleep(100 * 1000);
	}
	/* the workers drain (up to ~5 s); wait for every one */
	do {
		alive = 0;
		while (waitpid(-1, NULL, 0) > 0)
			;
		for (i = 0; i < n; i++)
			if (pids[i] > 0 && !kill(pids[i], 0))
				alive++;
	} while (alive);
	return 0;
}
