/* hello.c - fcgi-hello: the bare FastCGI hello-world that `make bench` measures storefleet against.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi_conns.h"

/*
 * The ceiling: the same connection loop (src/web/fcgi_conns.c, kept
 * connections included) and process model as storefleet.fcgi (N forked
 * workers on one unix socket) with no work per request, so the ratio in
 * the bench table is the cost of storefleet itself.
 *
 *   fcgi-hello --socket PATH [--workers N]     (SIGTERM stops it and its workers)
 */
static const char reply[] = "Status: 200 OK\r\n"
			    "Content-Type: text/plain\r\n"
			    "Content-Length: 12\r\n"
			    "\r\n"
			    "Hello world\n";

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void hello(FCGX_Request *fr, void *ctx)
{
	(void)ctx;
	FCGX_PutStr(reply, (int)sizeof(reply) - 1, fr->out);
}

static int serve(int fd, const sigset_t *blocked)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigset_t waiting;
	const char *why;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigprocmask(SIG_SETMASK, NULL, &waiting);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(blocked, s) == 1)
			sigdelset(&waiting, s);
	if (fcgi_conns_run(fd, &stop, &waiting, hello, NULL, &why) < 0) {
		fprintf(stderr, "fcgi-hello: %s keeps failing\n", why);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int workers = 2, fd;
	struct sockaddr_un sun;
	pid_t *pids;
	sigset_t set;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			workers = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: fcgi-hello --socket PATH [--workers N]\n");
			return 2;
		}
	}
	if (!path || workers < 1 || workers > 256 || strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: fcgi-hello --socket PATH [--workers N]\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0660) < 0 ||
	    listen(fd, 1024) < 0) {
		perror("fcgi-hello: listen");
		return 1;
	}
	FCGX_Init();
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pids = calloc((size_t)workers, sizeof(*pids));
	for (int i = 0; i < workers; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			return serve(fd, &set);
		}
	}
	sigwait(&set, &sig);
	for (int i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int i = 0; i < workers; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	unlink(path);
	free(pids);
	return 0;
}
