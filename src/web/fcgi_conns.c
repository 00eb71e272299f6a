/* fcgi_conns.c - a worker's FastCGI loop over the connections nginx keeps open to it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <fastcgi.h>

#include "fcgi_conns.h"

#define FAILS_MAX 100 /* failures in a row before the worker gives up */

/*
 * Did nginx close this idle connection?  Only when poll says its side is
 * shut (POLLRDHUP) is the socket peeked, without consuming (a request may
 * still be waiting): not a system call per request.
 */
static int conn_closed(const struct pollfd *p)
{
	char c;
	ssize_t n;

	if (!(p->revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return 0;
	n = recv(p->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static int transient(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED;
}

/* Take a new connection into fr (read later, once it polls readable). 0, or -1 on a real error. */
static int conn_accept(int listen_fd, FCGX_Request *fr)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return transient(errno) ? 0 : -1;
	fr->ipcFd = fd;
	fr->keepConnection = 1; /* so FCGX_Accept_r's finish of "the last request" keeps it */
	return 0;
}

/* The request fcgi_conns_reply answered (NULL: none), and whether its connection failed. */
static FCGX_Request *replied;
static int reply_failed;

/* One request on fr's connection, which has bytes waiting.  0, or libfcgi's negative code. */
static int conn_serve(FCGX_Request *fr, fcgi_serve_fn *serve, void *ctx)
{
	int rc = FCGX_Accept_r(fr); /* reads the request (on a protocol error: accept, EAGAIN) */

	if (rc < 0)
		return rc;
	replied = NULL;
	serve(fr, ctx);
	/* FCGX_Finish_r without its close records, which fcgi_conns_reply sent */
	if (replied == fr)
		FCGX_Free(fr, !fr->keepConnection || reply_failed || FCGX_GetError(fr->in));
	else
		FCGX_Finish_r(fr); /* closes the connection unless nginx asked to keep it */
	replied = NULL;
	return 0;
}

/* Write iov[0..n) completely (a blocking socket; a signal may cut a writev short). */
static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static FCGI_Header record_header(int type, int id, size_t len)
{
	return (FCGI_Header){.version = FCGI_VERSION_1,
			     .type = (unsigned char)type,
			     .requestIdB1 = (unsigned char)(id >> 8),
			     .requestIdB0 = (unsigned char)id,
			     .contentLengthB1 = (unsigned char)(len >> 8),
			     .contentLengthB0 = (unsigned char)len};
}

#define REPLY_IOV     64 /* iovecs per writev */
#define REPLY_RECORDS 32 /* STDOUT records per writev (each up to FCGI_MAX_LENGTH bytes) */

int fcgi_conns_reply(FCGX_Request *fr, const struct iovec *data, int n)
{
	FCGI_Header heads[REPLY_RECORDS + 1];
	FCGI_EndRequestRecord end;
	struct iovec iov[REPLY_IOV];
	int niov = 0, nhead = 0, piece = 0;
	size_t off = 0; /* into data[piece] */

	replied = fr;
	reply_failed = 1;
	while (piece < n) {
		/* one STDOUT record: its header, then up to FCGI_MAX_LENGTH bytes of data */
		int h = niov++;
		size_t len = 0;

		while (piece < n && len < FCGI_MAX_LENGTH && niov < REPLY_IOV - 2) {
			size_t take = data[piece].iov_len - off;

			if (take > FCGI_MAX_LENGTH - len)
				take = FCGI_MAX_LENGTH - len;
			if (take)
				iov[niov++] = (struct iovec){(char *)data[piece].iov_base + off, take};
			len += take;
			off += take;
			if (off == data[piece].iov_len) {
				piece++;
				off = 0;
			}
		}
		if (!len) { /* only empty pieces were left */
			niov--;
			continue;
		}
		heads[nhead] = record_header(FCGI_STDOUT, fr->requestId, len);
		iov[h] = (struct iovec){&heads[nhead++], FCGI_HEADER_LEN};
		if (piece < n && (nhead == REPLY_RECORDS || niov >= REPLY_IOV - 2)) {
			if (write_all(fr->ipcFd, iov, niov) < 0)
				return -1;
			niov = nhead = 0;
		}
	}
	/* the stream's end and the request's, in the room the loop left */
	heads[nhead] = record_header(FCGI_STDOUT, fr->requestId, 0);
	iov[niov++] = (struct iovec){&heads[nhead], FCGI_HEADER_LEN};
	end.header = record_header(FCGI_END_REQUEST, fr->requestId, sizeof(end.body));
	end.body = (FCGI_EndRequestBody){.appStatusB3 = (unsigned char)(fr->appStatus >> 24),
					 .appStatusB2 = (unsigned char)(fr->appStatus >> 16),
					 .appStatusB1 = (unsigned char)(fr->appStatus >> 8),
					 .appStatusB0 = (unsigned char)fr->appStatus,
					 .protocolStatus = FCGI_REQUEST_COMPLETE};
	iov[niov++] = (struct iovec){&end, sizeof(end)};
	if (write_all(fr->ipcFd, iov, niov) < 0)
		return -1;
	reply_failed = 0;
	return 0;
}

/*
 * Is a stop signal waiting?  ppoll delivers one only when it has to sleep:
 * with a request ready it returns it and the signal stays pending, so
 * under steady load a draining worker would never see its SIGTERM.  The
 * stop signals are those blocked now and unblocked while waiting.
 */
static int stop_pending(const sigset_t *stops)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return 0;
	for (int s = 1; s < NSIG; s++)
		if (sigismember(stops, s) == 1 && sigismember(&pending, s) == 1)
			return 1;
	return 0;
}

int fcgi_conns_run(int listen_fd, volatile sig_atomic_t *stop, const sigset_t *waiting,
		   fcgi_serve_fn *serve, void *ctx, const char **why)
{
	static FCGX_Request conns[FCGI_CONNS_MAX];
	struct pollfd pfd[FCGI_CONNS_MAX + 1];
	int slot[FCGI_CONNS_MAX + 1], fails = 0, fl, rc = 0;
	sigset_t stops;

	*why = NULL;
	sigprocmask(SIG_SETMASK, NULL, &stops);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(waiting, s) == 1)
			sigdelset(&stops, s);
	if ((fl = fcntl(listen_fd, F_GETFL)) < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		*why = "fcntl O_NONBLOCK";
		return -1;
	}
	for (int i = 0; i < FCGI_CONNS_MAX; i++)
		if (FCGX_InitRequest(&conns[i], listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
			*why = "FCGX_InitRequest";
			return -1;
		}
	while (!*stop && fails < FAILS_MAX) {
		int n = 0, spare = -1;

		for (int i = 0; i < FCGI_CONNS_MAX; i++) {
			if (conns[i].ipcFd >= 0) {
				pfd[n] = (struct pollfd){.fd = conns[i].ipcFd,
							 .events = POLLIN | POLLRDHUP};
				slot[n++] = i;
			} else if (spare < 0) {
				spare = i;
			}
		}
		if (spare >= 0) { /* room for one more connection */
			pfd[n] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
			slot[n++] = spare;
		}
		if (ppoll(pfd, (nfds_t)n, NULL, waiting) < 0) {
			if (errno != EINTR && ++fails >= FAILS_MAX)
				*why = "poll";
			continue;
		}
		for (int k = 0; k < n && !*stop; k++) {
			FCGX_Request *fr = &conns[slot[k]];

			if (!pfd[k].revents)
				continue;
			if (stop_pending(&stops)) {
				*stop = 1;
				break;
			}
			if (k == n - 1 && spare >= 0) {
				if (conn_accept(listen_fd, fr) == 0)
					fails = 0;
				else if (++fails >= FAILS_MAX)
					*why = "accept";
			} else if (conn_closed(&pfd[k])) {
				FCGX_Free(fr, 1);
			} else if ((rc = conn_serve(fr, serve, ctx)) == 0 || transient(-rc)) {
				fails = 0;
			} else if (++fails >= FAILS_MAX) {
				*why = "FCGX_Accept_r";
			}
		}
	}
	for (int i = 0; i < FCGI_CONNS_MAX; i++)
		FCGX_Free(&conns[i], 1);
	return *why ? -1 : 0;
}
