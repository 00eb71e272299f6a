/* sender.h - storefleet-mail's work: claim outbox messages and hand them to the SMTP relay. */
#ifndef SF_SENDER_H
#define SF_SENDER_H

#include <signal.h>

#include "err.h"

/*
 * The mail layer links libcurl and is linked by storefleet-mail alone: the
 * web app and reconcile only enqueue (src/domain/mail.c, inside their own
 * transactions) and never talk SMTP, so a slow or dead relay can never
 * hold a request or a reconcile pass.
 *
 * One message at a time (sql/011_email.sql lists the states):
 *
 *   1. claim: queued -> sending with a fresh random attempt_id and a lease
 *      (one UPDATE, committed);
 *   2. SMTP over libcurl (STARTTLS or implicit TLS, AUTH, timeouts); while
 *      libcurl reads the message, nothing the relay could accept has been
 *      sent: SMTP accepts a message only at the "." after it;
 *   3. when libcurl asks for more after the last byte (so just before the
 *      final "." leaves), sending -> delivering, only if attempt_id still
 *      matches: if another sender took the row over, the transfer is
 *      aborted and the relay never sees the end of the message;
 *   4. at once after the relay's 250, delivering -> sent, and the message's
 *      text is dropped (it may carry a live link; the row keeps its
 *      Message-ID, kind and recipient).
 *
 * A sender killed in 1-3 leaves 'sending': the relay dropped the partial
 * message with the connection, so the next run sends it again (one copy
 * at the relay).  Killed between 3 and 4 (the "." and 250 on the wire,
 * then one UPDATE) leaves 'delivering': the relay may or may not have it,
 * so the next run marks it 'unknown' and never resends it by itself
 * (at most once; storefleetctl mail resend ID after checking the relay's
 * log for its Message-ID).  Any other failure - no connection, timeout,
 * 4xx or 5xx at any step including the final "." - requeues it with
 * exponential backoff and the relay's words in last_error.
 */

struct sender;

/* Read the mail_* settings (password from the env or its file), check them. OUT: free with
 * sender_free. */
struct sender *sender_new(struct err *e);
void sender_free(struct sender *s);

/*
 * Release the claims of senders that are gone: every claim when exclusive
 * (the caller holds storefleet-mail's lock, so no other sender runs), else
 * only those whose lease ran out.  'sending' -> queued, 'delivering' ->
 * unknown.  OUT: *requeued, *unknown (may be NULL).  0 or -1 with e.
 */
int sender_recover(struct sender *s, int exclusive, int *requeued, int *unknown, struct err *e);

/*
 * Send every message that is due, one by one, until none is left or
 * *stop becomes non-zero.  OUT: *sent, *failed (attempts that did not
 * deliver).  0, or -1 with e when the database fails (SMTP failures are
 * recorded on their rows, not returned).
 */
int sender_run(struct sender *s, volatile sig_atomic_t *stop, int *sent, int *failed,
	       struct err *e);

#endif
