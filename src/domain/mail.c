/* mail.c - compose outbox messages: templates, injection-proof headers, multipart/alternative. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "lifecycle.h"
#include "db.h"
#include "log.h"
#include "mail.h"
#include "tpl.h"

#define MAIL_TEXT_MAX 400	/* bytes of a subject or display name kept */
#define MAIL_BODY_MAX (1 << 20) /* bytes of one rendered part */
#define MAIL_EW_RAW   45	/* bytes per encoded word: 60 base64 chars, 72 in all */

static struct tpl_set *mail_txt, *mail_html;

int mail_templates_load(struct err *e)
{
	char dir[4096];

	if (mail_txt && mail_html)
		return 0;
	snprintf(dir, sizeof(dir), "%s/email", config.templates_dir);
	mail_templates_free();
	mail_txt = tpl_load_dir_ext(dir, ".txt", 1, e);
	if (!mail_txt)
		return -1;
	mail_html = tpl_load_dir_ext(dir, ".html", 0, e);
	if (!mail_html) {
		mail_templates_free();
		return -1;
	}
	return 0;
}

void mail_templates_free(void)
{
	tpl_set_free(mail_txt);
	tpl_set_free(mail_html);
	mail_txt = mail_html = NULL;
}

/* --- addresses ---------------------------------------------------------- */

int mail_addr_ok(const char *s)
{
	const char *at = NULL;
	size_t n = 0;

	if (!s)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
		/* printable ASCII without the characters that end or delimit an address */
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
			return 0;
		if (*p == '@') {
			if (at)
				return 0;
			at = (const char *)p;
		}
	}
	return at && at != s && at[1] && n <= 254;
}

int mail_from_parse(struct arena *a, const char *from, const char **name, const char **addr,
		    struct err *e)
{
	const char *lt = strchr(from, '<'), *gt = strrchr(from, '>');

	if (!lt && !gt) {
		*name = "";
		*addr = arena_strdup(a, from);
	} else if (lt && gt && gt > lt && !gt[1] && !strchr(lt + 1, '<')) {
		size_t n = (size_t)(lt - from);

		while (n > 0 && from[n - 1] == ' ')
			n--;
		*name = arena_strndup(a, from, n);
		*addr = arena_strndup(a, lt + 1, (size_t)(gt - lt - 1));
	} else {
		return err_set(
		    e, 500, "config: mail_from: '%s' is not 'Name <address>' or an address", from);
	}
	if (!mail_addr_ok(*addr))
		return err_set(e, 500, "config: mail_from: '%s' is not a usable address", *addr);
	return 0;
}

/* --- header text ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t k;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/*
 * Clean text for a header: controls -> ' ', invalid UTF-8 -> '?', at most
 * MAIL_TEXT_MAX bytes cut on a character boundary, surrounding blanks
 * dropped.  Sets *ascii when every byte is printable ASCII.
 */
static void clean_text(struct buf *out, const char *s, int *ascii)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	*ascii = 1;
	while (i < n && out->len < MAIL_TEXT_MAX) {
		size_t k = utf8_len(p + i, n - i);

		if (k == 0) {
			buf_addch(out, '?');
			i++;
		} else if (k == 1) {
			buf_addch(out, p[i] < 0x20 || p[i] == 0x7f ? ' ' : p[i]);
			i++;
		} else {
			if (out->len + k > MAIL_TEXT_MAX)
				break;
			buf_add(out, p + i, k);
			*ascii = 0;
			i += k;
		}
	}
	while (out->len && out->s[out->len - 1] == ' ')
		buf_setlen(out, out->len - 1);
}

void mail_header_text(struct buf *out, const char *s, int phrase)
{
	struct buf t = BUF_INIT;
	int ascii;
	const char *p;
	size_t start = 0;

	clean_text(&t, s ? s : "", &ascii);
	p = t.s;
	while (*p == ' ')
		p++, start++;
	if (ascii && t.len - start <= 70) {
		if (phrase) {
			buf_addch(out, '"');
			for (; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_addch(out, '\\');
				buf_addch(out, *p);
			}
			buf_addch(out, '"');
		} else {
			buf_adds(out, p);
		}
		buf_release(&t);
		return;
	}
	/* RFC 2047 encoded words, each whole characters, folded one per line. */
	for (size_t i = start, first = 1; i < t.len; first = 0) {
		char b64[sodium_base64_ENCODED_LEN(MAIL_EW_RAW, sodium_base64_VARIANT_ORIGINAL)];
		size_t k = 0;

		while (i + k < t.len) {
			size_t c = utf8_len((const unsigned char *)t.s + i + k, t.len - i - k);

			if (c == 0)
				c = 1; /* cannot happen after clean_text */
			if (k + c > MAIL_EW_RAW)
				break;
			k += c;
		}
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)t.s + i, k,
				  sodium_base64_VARIANT_ORIGINAL);
		buf_addf(out, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", b64);
		i += k;
	}
	buf_release(&t);
}

/* --- bodies ---------------------------------------------------------------- */

/* s with every line ending made CRLF, base64-encoded in 76-character CRLF lines. */
static void add_base64_body(struct arena *a, struct buf *out, const char *s, size_t n)
{
	struct buf crlf = BUF_INIT;
	char *b64;
	size_t blen, i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r')
			continue;
		if (s[i] == '\n')
			buf_addch(&crlf, '\r');
		buf_addch(&crlf, s[i]);
	}
	blen = sodium_base64_ENCODED_LEN(crlf.len, sodium_base64_VARIANT_ORIGINAL);
	b64 = arena_alloc(a, blen);
	sodium_bin2base64(b64, blen, (const unsigned char *)crlf.s, crlf.len,
			  sodium_base64_VARIANT_ORIGINAL);
	for (i = 0; b64[i]; i += 76) {
		size_t k = strnlen(b64 + i, 76);

		buf_add(out, b64 + i, k);
		buf_adds(out, "\r\n");
		if (k < 76)
			break;
	}
	buf_release(&crlf);
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	randombytes_buf(r, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, r, bytes);
}

int mail_compose(struct arena *a, const char *kind, const char *to, struct view *v,
		 const char **msg, const char **message_id, struct err *e)
{
	struct buf txt = BUF_INIT, html = BUF_INIT, subj = BUF_INIT, m = BUF_INIT;
	const char *from_name, *from_addr, *subject, *body, *domain;
	char boundary[40], id[33], date[64];
	struct tm tm;
	time_t now = time(NULL);

	if (!mail_addr_ok(to))
		return err_set(e, 422, "email: '%s' cannot be mailed", to ? to : "");
	if (mail_templates_load(e) < 0 ||
	    mail_from_parse(a, config.mail_from, &from_name, &from_addr, e) < 0)
		return -1;
	if (!tpl_exists(mail_txt, kind) || !tpl_exists(mail_html, kind) ||
	    !tpl_exists(mail_txt, arena_printf(a, "%s.subject", kind)))
		return err_set(e, 500, "email: no templates/email/%s.txt, .subject.txt and .html",
			       kind);
	view_set_str(v, "product", "storefleet");
	view_set_str(v, "origin", config.public_origin);
	txt.max = html.max = subj.max = MAIL_BODY_MAX;
	if (tpl_render(mail_txt, arena_printf(a, "%s.subject", kind), v, &subj, e) < 0 ||
	    tpl_render(mail_txt, kind, v, &txt, e) < 0 ||
	    tpl_render(mail_html, kind, v, &html, e) < 0)
		goto fail;
	/* The subject template's own line end; a value's line breaks become spaces below. */
	while (subj.len && (subj.s[subj.len - 1] == '\n' || subj.s[subj.len - 1] == '\r'))
		buf_setlen(&subj, subj.len - 1);
	subject = arena_strndup(a, subj.s, subj.len);
	body = txt.s;

	random_hex(id, 16);
	random_hex(boundary, 12);
	domain = strchr(from_addr, '@') + 1;
	*message_id = arena_printf(a, "<%s@%s>", id, domain);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);

	buf_adds(&m, "From: ");
	if (*from_name) {
		mail_header_text(&m, from_name, 1);
		buf_addch(&m, ' ');
	}
	buf_addf(&m, "<%s>\r\nTo: <%s>\r\nSubject: ", from_addr, to);
	mail_header_text(&m, subject, 0);
	buf_addf(&m,
		 "\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
		 "Auto-Submitted: auto-generated\r\n"
		 "Content-Type: multipart/alternative; boundary=\"sf-%s\"\r\n\r\n",
		 date, *message_id, boundary);
	buf_addf(&m,
		 "--sf-%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n",
		 boundary);
	add_base64_body(a, &m, body, strlen(body));
	buf_addf(&m,
		 "--sf-%s\r\nContent-Type: text/html; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n",
		 boundary);
	add_base64_body(a, &m, html.s, html.len);
	buf_addf(&m, "--sf-%s--\r\n", boundary);
	if (m.failed) {
		err_set(e, 500, "email: out of memory");
		goto fail;
	}
	*msg = arena_strndup(a, m.s, m.len);
	buf_release(&txt);
	buf_release(&html);
	buf_release(&subj);
	buf_release(&m);
	return 0;
fail:
	buf_release(&txt);
	buf_release(&html);
	buf_release(&subj);
	buf_release(&m);
	return -1;
}

/* --- the outbox ------------------------------------------------------------ */

/* clang-format off */
static struct db_stmt st_enqueue = DB_STMT(
	"INSERT INTO outbox (kind, user_id, rcpt, message_id, message) "
	"VALUES ($1, NULLIF($2::bigint, 0), $3, $4, $5)",
	5);
static struct db_stmt st_notify = DB_STMT("SELECT pg_notify('storefleet_outbox', '')", 0);
/* clang-format on */

int mail_enqueue(struct arena *a, const char *kind, long long user_id, const char *to,
		 struct view *v, struct err *e)
{
	const char *msg, *mid, *uid = arena_printf(a, "%lld", user_id);

	if (mail_compose(a, kind, to, v, &msg, &mid, e) < 0)
		return -1;
	if (!db_run(a, &st_enqueue, (const char *[]){kind, uid, to, mid, msg}, e) ||
	    !db_run(a, &st_notify, NULL, e))
		return -1;
	log_info("mail: queued %s %s for user %lld", kind, mid, user_id);
	return 0;
}

/* clang-format off */
/* The owner, whether they want this kind of notice, the store's name and its cluster's domain. */
static struct db_stmt st_owner = DB_STMT(
	"SELECT u.id, u.email, s.name, u.disabled_at IS NULL AND CASE $2 "
	"WHEN 'store_ready' THEN u.notify_store_ready "
	"WHEN 'store_failed' THEN u.notify_store_failed "
	"WHEN 'upgrade_rolled_back' THEN u.notify_upgrade_rolled_back ELSE false END, "
	"(SELECT c.store_domain FROM clusters c WHERE c.name = s.cluster) "
	"FROM stores s JOIN users u ON u.id = s.owner_id WHERE s.id = $1",
	2);
/* clang-format on */

int mail_notify_owner(struct arena *a, const char *store_id, const char *kind, const char *reason,
		      struct err *e)
{
	PGresult *res = db_run(a, &st_owner, (const char *[]){store_id, kind}, e);
	struct view *v;
	const char *msg, *mid, *uid;
	struct err ce = ERR_INIT;

	if (!res)
		return -1;
	if (!db_rows(res) || !db_get_bool(res, 0, 3))
		return 0;
	v = view_obj(a);
	view_set_str(v, "store_name", db_get(res, 0, 2));
	view_set_str(v, "store_id", store_id);
	view_set_str(v, "store_url", store_url_in(a, store_id, db_get(res, 0, 4)));
	if (*config.public_origin)
		view_set_str(v, "store_page",
			     arena_printf(a, "%s/stores/%s", config.public_origin, store_id));
	if (reason && *reason)
		view_set_str(v, "reason", reason);
	/* A message that cannot be rendered must not hold the store's state back. */
	if (mail_compose(a, kind, db_get(res, 0, 1), v, &msg, &mid, &ce) < 0) {
		log_error("mail: store %s: %s not sent: %s", store_id, kind, ce.msg);
		return 0;
	}
	uid = db_get(res, 0, 0);
	if (!db_run(a, &st_enqueue, (const char *[]){kind, uid, db_get(res, 0, 1), mid, msg}, e) ||
	    !db_run(a, &st_notify, NULL, e))
		return -1;
	log_info("mail: queued %s %s for store %s", kind, mid, store_id);
	return 0;
}
