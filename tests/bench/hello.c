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

/*
 * The ceiling: the same libfcgi accept loop and process model as
 * storefleet.fcgi (N forked workers on one unix socket) with no work per
 * request, so the ratio in the bench table is the cost of storefleet itself.
 *
 *   fcgi-hello --socket PATH [--workers N]     (SIGTERM stops it and its workers)
 */
static const char reply[] = "Status: 200 OK\r\n"
			    "Content-Type: text/plain\r\n"
			    "Content-Length: 12\r\n"
			    "\r\n"
			    "Hello world\n";

static int serve(int fd)
{
	FCGX_Request fr;

	FCGX_InitRequest(&fr, fd, 0);
	while (FCGX_Accept_r(&fr) >= 0) {
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, fr.out);
		FCGX_Finish_r(&fr);
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
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			return serve(fd);
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
