/* main.c - storefleet.fcgi: options, the master that keeps N workers alive, the request loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "config.h"
#include "fcgi_conns.h"
#include "log.h"
#include "mail.h"
#include "pages.h"
#include "req.h"
#include "tpl.h"

/*
 * Process model (php-fpm / spawn-fcgi style, kept small): the master opens
 * the listening socket, compiles the templates, forks N workers that all
 * accept() on it, and then only supervises.  It handles its signals
 * synchronously (blocked + sigtimedwait), so there is no handler to race
 * with: SIGCHLD -> reap and respawn, SIGTERM/SIGINT -> drain.
 *
 * Draining: the master forwards SIGTERM.  A worker blocks SIGTERM while it
 * handles a request, so the request finishes untouched (no EINTR inside
 * libpq or libfcgi writes); it is unblocked only inside the ppoll that
 * waits for the next request (fcgi_conns.c), which installs the mask
 * atomically, so a signal sent just before the wait still ends it.
 */

#define DRAIN_SECONDS	30  /* in-flight requests get this long after SIGTERM */
#define RESPAWN_FAST_MS 200 /* delay before respawning a worker that died young */

static struct app app;
static int listen_fd = -1;
static int listen_is_unix;
static ino_t listen_ino; /* the socket file we made, so we only ever unlink our own */
static volatile sig_atomic_t worker_stop;

static void usage(FILE *f)
{
	fprintf(f, "usage: storefleet.fcgi [--socket PATH|127.0.0.1:PORT] [--workers N] [--check]\n"
		   "  --socket   listen there (unix socket mode 0660); without it: one plain CGI\n"
		   "             request, or fd 0 as an inherited FastCGI listening socket\n"
		   "  --workers  worker processes (default: config workers)\n"
		   "  --check    load configuration and templates, report, exit 0/1\n");
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* --- one request ------------------------------------------------------------ */

static void handle_one(struct arena *a, void *io)
{
	struct timespec t0, t1;
	struct req r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	req_init(&r, a, &app, io);
	resp_finish(&r, route_dispatch(&r));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("%s %s %d %.2fms", r.method, r.path, r.status,
		  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	page_metrics_observe(&r, (double)(t1.tv_sec - t0.tv_sec) +
				     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	app.requests++;
	/* r is on this frame and req_init deferred cleanups on &r.headers/&r.out: run them now. */
	arena_reset(a);
}

/* --- worker ----------------------------------------------------------------- */

static void worker_on_term(int sig)
{
	int saved = errno;

	(void)sig;
	worker_stop = 1;
	FCGX_ShutdownPending();
	errno = saved;
}

static void worker_serve(FCGX_Request *fr, void *ctx)
{
	handle_one(ctx, fr);
}

static int worker_run(void)
{
	struct arena *a = arena_new();
	struct sigaction sa;
	sigset_t term, waiting;
	const char *why;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_term; /* no SA_RESTART: a blocked poll or accept must fail */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);

	/* SIGTERM/SIGINT are blocked while a request runs, delivered only while polling. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);
	sigset_t others;
	sigemptyset(&others);
	sigaddset(&others, SIGCHLD);
	sigaddset(&others, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &others, NULL);

	log_debug("worker started");
	rc = fcgi_conns_run(listen_fd, &worker_stop, &waiting, worker_serve, a, &why);
	if (rc < 0)
		log_error("worker: %s keeps failing (%s), exiting for a respawn", why, strerror(errno));
	arena_free(a);
	log_debug("worker stopped after %lu requests", app.requests);
	return rc < 0 ? 1 : 0;
}

static pid_t spawn_worker(void)
{
	pid_t master = getpid(), pid = fork();

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	/* A worker must not outlive its master (kill -9 of the master, crash). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);
	prctl(PR_SET_NAME, "sf-worker");
	app.pid = getpid();
	app.started = time(NULL);
	exit(worker_run());
}

/* --- master ----------------------------------------------------------------- */

struct slot {
	pid_t pid;
	long born, respawn_at; /* ms, CLOCK_MONOTONIC */
};

static void reap(struct slot *slots, int n, int stopping)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < n; i++) {
			long lived;

			if (slots[i].pid != pid)
				continue;
			slots[i].pid = 0;
			if (stopping)
				break;
			lived = now_ms() - slots[i].born;
			if (WIFSIGNALED(st))
				log_warn("worker %d killed by signal %d after %ld ms; respawning",
					 (int)pid, WTERMSIG(st), lived);
			else
				log_warn("worker %d exited with status %d after %ld ms; respawning",
					 (int)pid, WEXITSTATUS(st), lived);
			/* A worker that dies at once would otherwise be respawned in a tight loop.
			 */
			slots[i].respawn_at = now_ms() + (lived < 1000 ? RESPAWN_FAST_MS : 0);
			break;
		}
	}
}

static int master_run(int nworkers, const char *socket_path)
{
	/* static: a forked worker exits with this still allocated, and that is fine */
	static struct slot *slots;
	sigset_t set;
	long deadline;
	int alive;

	slots = calloc((size_t)nworkers, sizeof(*slots));
	if (!slots)
		die_oom();
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);

	log_info("master %d: %d workers on %s", (int)getpid(), nworkers,
		 socket_path ? socket_path : "fd 0");
	for (;;) {
		struct timespec to = {0, 100 * 1000000L};
		long t = now_ms();
		int sig;

		for (int i = 0; i < nworkers; i++) {
			if (slots[i].pid || t < slots[i].respawn_at)
				continue;
			slots[i].pid = spawn_worker();
			slots[i].born = t;
			if (slots[i].pid < 0) {
				slots[i].pid = 0;
				slots[i].respawn_at = t + 1000;
			}
		}
		sig = sigtimedwait(&set, NULL, &to);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			log_info("master: SIGHUP ignored (restart to reload)");
		reap(slots, nworkers, 0);
	}

	log_info("master: stopping; draining in-flight requests");
	/*
	 * Stop listening at once: new connections are refused (nginx answers 502
	 * instead of waiting), and a new instance may already bind the path while
	 * this one drains - unless the path is someone else's by now.
	 */
	if (listen_is_unix) {
		struct stat st;

		if (lstat(socket_path, &st) == 0 && st.st_ino == listen_ino)
			unlink(socket_path);
	}
	close(listen_fd);
	for (int i = 0; i < nworkers; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, SIGTERM);
	deadline = now_ms() + DRAIN_SECONDS * 1000L;
	for (;;) {
		struct timespec to = {0, 50 * 1000000L};

		reap(slots, nworkers, 1);
		alive = 0;
		for (int i = 0; i < nworkers; i++)
			alive += slots[i].pid > 0;
		if (!alive)
			break;
		if (now_ms() > deadline) {
			log_error("master: %d workers still busy after %d s; killing them", alive,
				  DRAIN_SECONDS);
			for (int i = 0; i < nworkers; i++)
				if (slots[i].pid > 0)
					kill(slots[i].pid, SIGKILL);
			deadline = now_ms() + 5000;
		}
		sigtimedwait(&set, NULL, &to);
	}
	free(slots);
	slots = NULL;
	log_info("master: stopped");
	return 0;
}

/* --- the listening socket ----------------------------------------------------- */

static int listen_tcp(const char *spec, struct err *e)
{
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sin;
	char *end;
	long port;
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) != strlen("127.0.0.1") ||
	    strncmp(spec, "127.0.0.1", 9))
		return err_set(
		    e, 1, "--socket '%s': TCP only on 127.0.0.1:PORT (or give a unix socket path)",
		    spec);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return err_set(e, 1, "--socket '%s': bad port", spec);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1024) < 0) {
		err_set(e, 1, "--socket '%s': %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * A unix socket, mode 0660, made under a temporary name and renamed into
 * place, so whoever waits for the path to appear (nginx, tests) never finds
 * a socket that is not listening yet.
 */
static int listen_unix(const char *path, struct err *e)
{
	struct sockaddr_un sun;
	char tmp[sizeof(sun.sun_path)];
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return err_set(e, 1, "--socket '%s': path too long for a unix socket", path);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return err_set(e, 1, "--socket '%s': exists and is not a socket", path);
		/* A live socket belongs to a running instance: never steal it. */
		strcpy(sun.sun_path, path);
		probe = socket(AF_UNIX, SOCK_STREAM, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			return err_set(e, 1, "--socket '%s': another process is listening there",
				       path);
		}
		if (probe >= 0)
			close(probe);
	}
	strcpy(sun.sun_path, tmp);
	unlink(tmp);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(tmp, 0660) < 0 ||
	    listen(fd, 1024) < 0 || rename(tmp, path) < 0) {
		err_set(e, 1, "--socket '%s': %s", path, strerror(errno));
		unlink(tmp);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (lstat(path, &st) == 0)
		listen_ino = st.st_ino;
	return fd;
}

static int parse_level(const char *s, enum log_level *out)
{
	static const char *names[] = {"debug", "info", "warn", "error"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"workers", required_argument, NULL, 'w'},
	    {"check", no_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *socket_path = NULL;
	struct err e = ERR_INIT;
	enum log_level level;
	int workers = 0, check = 0, c;
	sigset_t set;

	log_init("storefleet.fcgi", LOG_INFO);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'w':
			workers = atoi(optarg);
			if (workers < 1 || workers > 256) {
				fprintf(stderr, "storefleet.fcgi: --workers: 1..256\n");
				return 2;
			}
			break;
		case 'c':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	if (config_load(&config, &e) < 0) {
		fprintf(stderr, "storefleet.fcgi: %s\n", e.msg);
		return 1;
	}
	if (parse_level(config.log_level, &level) < 0) {
		fprintf(stderr,
			"storefleet.fcgi: config: log_level: '%s' is not debug|info|warn|error\n",
			config.log_level);
		return 1;
	}
	log_init("storefleet.fcgi", level);
	app.tpl = tpl_load_dir(config.templates_dir, &e);
	if (!app.tpl || tpl_check(app.tpl, &e) < 0) {
		fprintf(stderr, "storefleet.fcgi: %s\n", e.msg);
		return 1;
	}
	/*
	 * The mail templates and the From setting, checked now rather than at the
	 * first mail (a templates folder without email/ is a test's: mail then
	 * fails when it is sent, as any missing template does).
	 */
	{
		struct arena *ma = arena_new();
		const char *fn, *fa;
		struct stat st;
		int bad = (stat(arena_printf(ma, "%s/email", config.templates_dir), &st) == 0 &&
			   mail_templates_load(&e) < 0) ||
			  mail_from_parse(ma, config.mail_from, &fn, &fa, &e) < 0;

		arena_free(ma);
		if (bad) {
			fprintf(stderr, "storefleet.fcgi: %s\n", e.msg);
			return 1;
		}
	}
	if (check) {
		printf("storefleet.fcgi: configuration and templates OK\n");
		return 0;
	}
	app.pid = getpid();
	app.started = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Before any fork: every worker, respawned ones too, inherits the shared counters. */
	page_metrics_init();

	if (!socket_path) {
		if (FCGX_IsCGI()) {
			struct arena *a = arena_new();

			app.cgi = 1;
			handle_one(a, NULL);
			arena_free(a);
			tpl_set_free(app.tpl);
			config_release(&config);
			return 0;
		}
		listen_fd = 0; /* spawned by a FastCGI process manager */
	} else {
		/* From here on a SIGTERM must reach master_run, which removes the socket. */
		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		sigprocmask(SIG_BLOCK, &set, NULL);
		listen_is_unix = socket_path[0] == '/' || !strchr(socket_path, ':');
		listen_fd =
		    listen_is_unix ? listen_unix(socket_path, &e) : listen_tcp(socket_path, &e);
		if (listen_fd < 0) {
			fprintf(stderr, "storefleet.fcgi: %s\n", e.msg);
			return 1;
		}
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "storefleet.fcgi: FCGX_Init failed\n");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return master_run(workers ? workers : config.workers, socket_path);
}
