/* sender.c - claim outbox rows, send them over SMTP with libcurl, record what happened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mail.h"
#include "sender.h"

struct sender {
	struct arena *a;
	const char *from_addr;
	char *password; /* malloc'd, wiped at free; never logged */
};

/* The first line of a file (a password file), malloc'd; NULL with e on failure. */
static char *read_first_line(const char *path, struct err *e)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n;

	if (!f) {
		err_set(e, 500, "config: mail_password_file: cannot open '%s'", path);
		return NULL;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return strdup(line);
}

struct sender *sender_new(struct err *e)
{
	struct sender *s = calloc(1, sizeof(*s));
	const char *name;

	if (!s)
		die_oom();
	s->a = arena_new();
	if (!*config.mail_url) {
		err_set(e, 500, "config: mail_url is not set: messages stay queued until it is");
		goto fail;
	}
	if (strncmp(config.mail_url, "smtp://", 7) && strncmp(config.mail_url, "smtps://", 8)) {
		err_set(e, 500, "config: mail_url: must start with smtp:// or smtps://");
		goto fail;
	}
	if (mail_from_parse(s->a, config.mail_from, &name, &s->from_addr, e) < 0)
		goto fail;
	s->from_addr = strdup(s->from_addr);
	if (*config.mail_password_file)
		s->password = read_first_line(config.mail_password_file, e);
	else
		s->password = strdup(config.mail_password);
	if (!s->password || !s->from_addr)
		goto fail;
	return s;
fail:
	sender_free(s);
	return NULL;
}

void sender_free(struct sender *s)
{
	if (!s)
		return;
	if (s->password) {
		sodium_memzero(s->password, strlen(s->password));
		free(s->password);
	}
	free((char *)s->from_addr);
	arena_free(s->a);
	free(s);
}

/* --- the outbox rows ------------------------------------------------------ */

/* clang-format off */
#define GONE_SENDING                                                                               \
	"the sender stopped before the end of the message was sent (a relay keeps no partial "     \
	"message), so it is sent again"
#define GONE_DELIVERING                                                                            \
	"the sender stopped after the end of the message was on its way and before the relay's "  \
	"answer was recorded: the relay may have it, so it is not sent again by itself "           \
	"(storefleetctl mail resend ID)"

static struct db_stmt st_recover_sending = DB_STMT(
	"UPDATE outbox SET state = 'queued', attempt_id = NULL, claimed_until = NULL, "
	"last_error = $2 WHERE state = 'sending' AND ($1::boolean OR claimed_until < now())",
	2);
static struct db_stmt st_recover_delivering = DB_STMT(
	"UPDATE outbox SET state = 'unknown', claimed_until = NULL, "
	"last_error = $2 WHERE state = 'delivering' AND ($1::boolean OR claimed_until < now())",
	2);
/* clang-format on */

int sender_recover(struct sender *s, int exclusive, int *requeued, int *unknown, struct err *e)
{
	const char *b = exclusive ? "true" : "false";
	PGresult *r1 = db_run(s->a, &st_recover_sending, (const char *[]){b, GONE_SENDING}, e), *r2;
	int n1, n2;

	if (!r1)
		return -1;
	r2 = db_run(s->a, &st_recover_delivering, (const char *[]){b, GONE_DELIVERING}, e);
	if (!r2)
		return -1;
	n1 = atoi(PQcmdTuples(r1));
	n2 = atoi(PQcmdTuples(r2));
	if (n1)
		log_warn("mail: %d message(s) of a stopped sender queued again", n1);
	if (n2)
		log_warn("mail: %d message(s) of a stopped sender marked unknown (not resent)", n2);
	if (requeued)
		*requeued = n1;
	if (unknown)
		*unknown = n2;
	arena_reset(s->a);
	return 0;
}

/* clang-format off */
static struct db_stmt st_claim = DB_STMT(
	"UPDATE outbox SET state = 'sending', attempt_id = $1::uuid, attempts = attempts + 1, "
	"claimed_until = now() + make_interval(secs => $2::int) "
	"WHERE id = (SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= now() "
	"ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
	"RETURNING id, rcpt, message, attempts, message_id",
	2);
static struct db_stmt st_delivering = DB_STMT(
	"UPDATE outbox SET state = 'delivering' "
	"WHERE id = $1::bigint AND attempt_id = $2::uuid AND state = 'sending'",
	2);
static struct db_stmt st_sent = DB_STMT(
	"UPDATE outbox SET state = 'sent', sent_at = now(), claimed_until = NULL, last_error = '', "
	"message = '' "
	"WHERE id = $1::bigint AND attempt_id = $2::uuid",
	2);
static struct db_stmt st_unknown = DB_STMT(
	"UPDATE outbox SET state = 'unknown', claimed_until = NULL, last_error = $3 "
	"WHERE id = $1::bigint AND attempt_id = $2::uuid",
	3);
/* Backoff: base * 2^(attempts - 1), at most max; failed after max_attempts. */
static struct db_stmt st_retry = DB_STMT(
	"UPDATE outbox SET state = CASE WHEN attempts >= $4::int THEN 'failed' ELSE 'queued' END, "
	"next_attempt_at = now() + make_interval(secs => "
	"least($5::float8 * power(2, least(attempts - 1, 30)), $6::float8)), "
	"attempt_id = NULL, claimed_until = NULL, last_error = $3 "
	"WHERE id = $1::bigint AND attempt_id = $2::uuid AND state IN ('sending', 'delivering') "
	"RETURNING state, next_attempt_at",
	6);
/* clang-format on */

/* --- SMTP ------------------------------------------------------------------ */

struct attempt {
	struct sender *s;
	const char *id, *attempt_id;
	const char *msg;
	size_t len, off;
	int delivering;	 /* the row says 'delivering': the "." may leave now */
	int fenced;	 /* the row was no longer ours: transfer aborted */
	char reply[200]; /* the relay's last reply line */
	char curlerr[CURL_ERROR_SIZE];
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *ctx)
{
	struct attempt *t = ctx;
	size_t room = size * nitems, n = t->len - t->off;
	struct err e = ERR_INIT;
	PGresult *res;

	if (n) {
		if (n > room)
			n = room;
		memcpy(buf, t->msg + t->off, n);
		t->off += n;
		return n;
	}
	if (!t->delivering) {
		/* The end of the message is next: from here on the relay may accept it. */
		res = db_run(t->s->a, &st_delivering, (const char *[]){t->id, t->attempt_id}, &e);
		if (!res || atoi(PQcmdTuples(res)) != 1) {
			if (!res)
				log_error("mail: message %s: %s", t->id, e.msg);
			t->fenced = 1;
			return CURL_READFUNC_ABORT;
		}
		t->delivering = 1;
	}
	return 0;
}

/* Keep the relay's last reply line (what it said about a refusal); never what we sent. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ctx)
{
	struct attempt *t = ctx;
	size_t n = 0;

	(void)c;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	while (n < size && n < sizeof(t->reply) - 1 && data[n] != '\r' && data[n] != '\n') {
		unsigned char ch = (unsigned char)data[n];

		t->reply[n] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
		n++;
	}
	t->reply[n] = '\0';
	return 0;
}

static const char *tls_mode_name(void)
{
	if (!strncmp(config.mail_url, "smtps://", 8))
		return "implicit TLS";
	return config.mail_tls;
}

/* One SMTP transaction for message t.  Returns the curl code; t says how far it got. */
static CURLcode smtp_send(struct sender *s, struct attempt *t, const char *rcpt, long *code)
{
	CURL *c = curl_easy_init();
	struct curl_slist *to = NULL;
	char from[300], rcpt_br[300];
	CURLcode rc;
	long use_ssl = CURLUSESSL_ALL;

	if (!c)
		die_oom();
	snprintf(from, sizeof(from), "<%s>", s->from_addr);
	snprintf(rcpt_br, sizeof(rcpt_br), "<%s>", rcpt);
	to = curl_slist_append(to, rcpt_br);
	if (!strcmp(config.mail_tls, "optional"))
		use_ssl = CURLUSESSL_TRY;
	else if (!strcmp(config.mail_tls, "none"))
		use_ssl = CURLUSESSL_NONE;
	curl_easy_setopt(c, CURLOPT_URL, config.mail_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl);
	if (*config.mail_ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, config.mail_ca_file);
	if (*config.mail_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, config.mail_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, t);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* for on_debug: the relay's replies */
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, t);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->curlerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 (long)(config.mail_timeout < 10 ? config.mail_timeout : 10));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)config.mail_timeout);
	rc = curl_easy_perform(c);
	*code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	curl_slist_free_all(to);
	curl_easy_cleanup(c);
	return rc;
}

/* Claim and send one message: 1 handled, 0 none due, -1 database error. */
static int send_one(struct sender *s, int *sent, int *failed, struct err *e)
{
	unsigned char r[16];
	char uuid[37];
	const char *lease = arena_printf(s->a, "%d", config.mail_lease);
	struct attempt t;
	PGresult *res;
	CURLcode rc;
	long code;
	const char *rcpt, *mid, *reason;

	randombytes_buf(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(uuid, sizeof(uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
		 r[15]);
	res = db_run(s->a, &st_claim, (const char *[]){uuid, lease}, e);
	if (!res)
		return -1;
	if (db_rows(res) == 0)
		return 0;
	memset(&t, 0, sizeof(t));
	t.s = s;
	t.id = db_get(res, 0, 0);
	t.attempt_id = uuid;
	rcpt = db_get(res, 0, 1);
	t.msg = db_get(res, 0, 2);
	t.len = strlen(t.msg);
	mid = db_get(res, 0, 4);

	rc = smtp_send(s, &t, rcpt, &code);
	if (rc == CURLE_OK) {
		/* The relay said 250 to the end of the message: record it before anything else. */
		if (!db_run(s->a, &st_sent, (const char *[]){t.id, uuid}, e))
			return -1;
		log_info("mail: sent message %s %s", t.id, mid);
		(*sent)++;
		return 1;
	}
	(*failed)++;
	reason = arena_printf(
	    s->a, "%s (%s%s%s%s)", curl_easy_strerror(rc), tls_mode_name(), *t.curlerr ? ": " : "",
	    t.curlerr,
	    *t.reply && code >= 400 ? arena_printf(s->a, "; the relay said '%s'", t.reply) : "");
	if (t.fenced) {
		log_warn("mail: message %s: no longer this sender's; not finished", t.id);
		return 1;
	}
	if (t.delivering && code < 400) {
		/* The "." left and no refusal came back: the relay may have it. */
		reason =
		    arena_printf(s->a,
				 "no answer to the end of the message (%s): the relay may have "
				 "it, so it is not sent again by itself (storefleetctl mail "
				 "resend ID)",
				 reason);
		if (!db_run(s->a, &st_unknown, (const char *[]){t.id, uuid, reason}, e))
			return -1;
		log_warn("mail: message %s %s: outcome unknown: %s", t.id, mid, reason);
		return 1;
	}
	{
		const char *max = arena_printf(s->a, "%d", config.mail_max_attempts);
		const char *base = arena_printf(s->a, "%d", config.mail_retry_base);
		const char *cap = arena_printf(s->a, "%d", config.mail_retry_max);

		res = db_run(s->a, &st_retry, (const char *[]){t.id, uuid, reason, max, base, cap},
			     e);
		if (!res)
			return -1;
		if (db_rows(res))
			log_warn("mail: message %s %s: %s; %s", t.id, mid, reason,
				 !strcmp(db_get(res, 0, 0), "failed")
				     ? "giving up (mail_max_attempts)"
				     : arena_printf(s->a, "next attempt at %s", db_get(res, 0, 1)));
	}
	return 1;
}

int sender_run(struct sender *s, volatile sig_atomic_t *stop, int *sent, int *failed, struct err *e)
{
	int rc;

	*sent = *failed = 0;
	while (!*stop) {
		rc = send_one(s, sent, failed, e);
		arena_reset(s->a);
		if (rc <= 0)
			return rc;
	}
	return 0;
}
