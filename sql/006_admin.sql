-- 006_admin.sql - indexes for the admin pages: audit filters and pages, last sign-in.
--
-- The audit log is listed newest first by (at, id) and filtered by actor
-- email, action, target and a time range.  Each filter gets an index that
-- ends in (at DESC, id DESC), so a filtered page - with or without a time
-- range, however far back - is one index range scan that stops after a
-- page of rows, however long the log grows.  The users list shows each
-- user's last sign-in, read from the newest 'user.login' audit row (a
-- partial index keeps that one probe per user, without a users column the
-- login path would have to keep in step).

CREATE INDEX audit_log_at_id_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC, id DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target, at DESC, id DESC);
CREATE INDEX audit_log_actor_email_idx ON audit_log (lower(actor_email), at DESC, id DESC);
CREATE INDEX audit_log_login_idx ON audit_log (actor_id, at DESC) WHERE action = 'user.login';
