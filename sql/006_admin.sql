-- 006_admin.sql - indexes for the admin pages: audit filters, last sign-in, stores by owner email.
--
-- The admin pages filter audit_log by actor email, action and target and
-- page it newest first by id, so each filter gets an index ending in id:
-- a filtered page is an index range scan however long the log grows.  The
-- users list shows each user's last sign-in, read from the newest
-- 'user.login' audit row (a partial index keeps that a single probe per
-- user without a column the login path would have to write).

CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target, id DESC);
CREATE INDEX audit_log_actor_email_idx ON audit_log (lower(actor_email), id DESC);
CREATE INDEX audit_log_login_idx ON audit_log (actor_id, at DESC) WHERE action = 'user.login';
