/* fcgi_conns.h - a worker's FastCGI loop over the connections nginx keeps open to it. */
#ifndef SF_FCGI_CONNS_H
#define SF_FCGI_CONNS_H

#include <signal.h>

#include <fcgiapp.h>

/*
 * nginx keeps connections to the workers open (upstream keepalive,
 * fastcgi_keep_conn on), so a request costs no connect, accept and close.
 * libfcgi alone serves one connection at a time and blocks reading it: a
 * worker holding two kept connections would wait on the idle one while
 * nginx sent a request on the other, until nginx's read timeout.  So a
 * worker holds up to FCGI_CONNS_MAX connections and polls them beside the
 * listening socket, serving one request at a time from whichever is ready.
 *
 * listen_fd is made non-blocking (its open file is shared with the other
 * workers, which do the same): a worker that loses the race for a new
 * connection gets EAGAIN instead of sleeping in accept() while its own
 * connections wait.  New connections are accepted here and handed to
 * libfcgi once they poll readable (libfcgi's own accept waits up to 2 s for
 * a unix socket's first bytes); an idle connection nginx closed is closed
 * here, since libfcgi's error path would accept() again.  A connection
 * nginx did not ask to keep is closed after its request, as before.
 *
 * Signals: the caller blocks the ones that stop it; `waiting` is the mask
 * in force while polling (ppoll), so they arrive only between requests.
 * The loop returns when *stop is set: 0, or -1 after 100 failures in a row
 * (*why says which call), for the caller to log and exit for a respawn.
 */
#define FCGI_CONNS_MAX 64

typedef void fcgi_serve_fn(FCGX_Request *fr, void *ctx);

int fcgi_conns_run(int listen_fd, volatile sig_atomic_t *stop, const sigset_t *waiting,
		   fcgi_serve_fn *serve, void *ctx, const char **why);

/*
 * The whole answer to fr's request - the n pieces of data concatenated -
 * as its FCGI_STDOUT records, the end of that stream and FCGI_END_REQUEST,
 * in one writev (a few for an answer over ~1 MiB): libfcgi's writer sends
 * its 8 KiB buffer whenever it fills, so a 12 KiB list took two writes,
 * and nginx and the client each woke twice for it.  Nothing may have been
 * written to fr->out before; fcgi_conns_run then releases the request
 * without libfcgi's close records (FCGX_Free instead of FCGX_Finish_r).
 * 0, or -1 when the connection failed (it is closed then).
 */
struct iovec;
int fcgi_conns_reply(FCGX_Request *fr, const struct iovec *data, int n);

#endif
