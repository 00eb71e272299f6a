/* seal.h - store credentials sealed under config secret_key (libsodium secretbox). */
#ifndef SF_SEAL_H
#define SF_SEAL_H

#include "buf.h"
#include "err.h"

/*
 * The web app never talks to Kubernetes, yet shows a store's owner the
 * admin password; reconcile therefore keeps a sealed copy in
 * stores.admin_secret.  A sealed value is nonce || crypto_secretbox_easy()
 * (XSalsa20-Poly1305), written as PostgreSQL's bytea text form "\x<hex>",
 * which is what a text parameter of a bytea column takes and what libpq
 * returns for it (bytea_output = hex, the default).
 *
 * key_hex is config.secret_key: exactly 64 hex digits (32 bytes).  Errors
 * are status 500 with a message that never contains the plaintext or key.
 */

/*
 * Seal the NUL-terminated plain into out (appended: "\x" + hex of nonce and
 * box).  Returns 0, or -1 with e set (bad key, buffer failure).
 */
int seal_box(const char *key_hex, const char *plain, struct buf *out, struct err *e);

/*
 * Open sealed (the "\x<hex>" text of a bytea; a bare hex string is also
 * accepted) and append the plaintext to plain (NUL-terminated by buf).
 * Returns 0, or -1 with e set: bad key, malformed or truncated value, or a
 * value that was not sealed under this key (authentication failed).
 */
int seal_open(const char *key_hex, const char *sealed, struct buf *plain, struct err *e);

#endif
