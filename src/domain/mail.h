/* mail.h - email messages for the outbox: templates, headers that cannot be injected, MIME. */
#ifndef SF_MAIL_H
#define SF_MAIL_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "view.h"

/*
 * A message is rendered whole when it is enqueued (mail_enqueue, in the
 * transaction of the event that causes it) and stored in the outbox as the
 * exact bytes storefleet-mail hands to the relay, Message-ID included, so
 * every attempt sends the same message.
 *
 * Templates: templates/email/KIND.subject.txt (the Subject, one line),
 * KIND.txt (the plain part) and KIND.html (the HTML part, HTML-escaped like
 * the pages; partials in templates/email/partials/).
 * The plain part renders without HTML escaping (tpl_set_plain).  Both get
 * the caller's view plus "product" and "origin" (config public_origin).
 *
 * Headers are written by this file only, from parts that cannot carry a
 * line break: addresses must pass mail_addr_ok (no CR, LF, space, <, >,
 * quotes...), display names and subjects have every control character
 * turned into a space and are sent as an RFC 5322 quoted string (ASCII)
 * or RFC 2047 encoded words (UTF-8, base64), so no value chosen by a user
 * (an email, a store name) can start a header or end the header block.
 * Bodies go out base64-encoded (76-character lines), so a line of a single
 * "." or an over-long line cannot reach SMTP either.
 */

/* 1 when s is an address we put into headers and envelopes: ASCII local@domain, no specials. */
int mail_addr_ok(const char *s);

/*
 * Split a From setting ("Name <addr>" or "addr") into name (may be "") and
 * address (arena strings).  0 or -1 with e (500) when the address is not
 * mail_addr_ok or the brackets are wrong.
 */
int mail_from_parse(struct arena *a, const char *from, const char **name, const char **addr,
		    struct err *e);

/*
 * A header value from outside text: controls (CR, LF, TAB, DEL...) become
 * spaces, invalid UTF-8 bytes become '?', and anything but printable ASCII
 * (or longer than fits one line) is written as RFC 2047 encoded words
 * folded with CRLF SP.  `phrase` picks a display name (a quoted string
 * when ASCII) over unstructured text (a Subject).  Appended to out.
 */
void mail_header_text(struct buf *out, const char *s, int phrase);

/*
 * Render templates/email/KIND.{txt,html} with v (which gains "product" and
 * "origin") into a complete message to `to`.  OUT: *msg (arena, CRLF
 * lines) and *message_id ("<...@domain>", arena).  Errors: 500 (unknown
 * kind, template error, bad From setting), 422 (to is not mail_addr_ok).
 */
int mail_compose(struct arena *a, const char *kind, const char *to, struct view *v,
		 const char **msg, const char **message_id, struct err *e);

/*
 * mail_compose, then INSERT the message into the outbox and NOTIFY
 * storefleet_outbox, on the process connection: inside the caller's
 * transaction when one is open, so the message exists exactly when the
 * event that caused it does.  user_id 0 = none.  0 or -1 with e.
 */
int mail_enqueue(struct arena *a, const char *kind, long long user_id, const char *to,
		 struct view *v, struct err *e);

/*
 * Tell a store's owner about kind ("store_ready", "store_failed" with the
 * reason, "upgrade_rolled_back" with why), unless they turned that notice
 * off on the account page or are disabled: the message is queued on the
 * process connection, meant to be inside the transaction that moves the
 * store.  A message that cannot be rendered is logged and skipped (it
 * must not hold the store back).  0 or -1 with e (database).
 */
int mail_notify_owner(struct arena *a, const char *store_id, const char *kind, const char *reason,
		      struct err *e);

/* Load the templates now (a start-up check); later calls reuse them. 0 or -1 with e. */
int mail_templates_load(struct err *e);

/* Free the templates (process exit, tests). */
void mail_templates_free(void);

#endif
