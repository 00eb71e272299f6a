/* pages.h - prototypes of every page and API handler named in the route table (route.c). */
#ifndef SF_PAGES_H
#define SF_PAGES_H

#include "page.h"
#include "req.h"

/*
 * A handler builds its view, produces exactly one body (resp_html,
 * resp_json, resp_text, resp_redirect) and returns the HTTP status, or
 * returns req_fail()/req_invalid() and lets the dispatcher render the
 * error.  Append new prototypes in the group of their module.
 */

/* health (page_healthz.c) */
int page_healthz(struct req *r);

/* readiness (page_readyz.c) */
int page_readyz(struct req *r);

/*
 * Prometheus metrics (page_metrics.c).  page_metrics_init maps the shared
 * HTTP counters for the route table: once, before workers fork.
 * page_metrics_observe counts a finished request (route, status, time).
 */
int page_metrics(struct req *r);
void page_metrics_init(void);
void page_metrics_observe(struct req *r, double seconds);

/* sign-in pages (page_auth.c) */
int page_root(struct req *r);
int page_login_form(struct req *r);
int page_login(struct req *r);
int page_password_forgot_form(struct req *r);
int page_password_forgot(struct req *r);
int page_password_reset_form(struct req *r);
int page_password_reset(struct req *r);
int page_verify(struct req *r);
int page_register_form(struct req *r);
int page_register(struct req *r);
int page_logout(struct req *r);

/* account and API tokens (page_account.c) */
int page_account(struct req *r);
int page_account_token_create(struct req *r);
int page_account_token_revoke(struct req *r);
int page_account_password(struct req *r);
int page_account_email(struct req *r);
int page_account_notices(struct req *r);

/* JSON accounts (api_auth.c) */
int api_auth_register(struct req *r);
int api_auth_login(struct req *r);
int api_auth_me(struct req *r);
int api_auth_forgot(struct req *r);
int api_auth_reset(struct req *r);

/* stores (page_stores.c) */
/* the list page's route.session_join: the session lookup and the list in one statement */
int page_stores_session(struct req *r, const char *token, struct session_user *su,
			struct err *e);
int page_stores(struct req *r);
int page_stores_create(struct req *r);
int page_store(struct req *r);
int page_store_retry(struct req *r);
int page_store_delete(struct req *r);
int page_store_undelete(struct req *r);
int page_store_credentials(struct req *r);
int page_store_upgrade(struct req *r);
int page_store_rollback(struct req *r);
int page_store_suspend(struct req *r);
int page_store_resume(struct req *r);

/* a suspended store's host: the branded paused page (page_paused.c) */
int page_paused(struct req *r);
int page_store_plan(struct req *r);
int page_store_backup(struct req *r);
int page_store_restore(struct req *r);
int page_store_clone(struct req *r);
int page_store_domain_add(struct req *r);
int page_store_domain_remove(struct req *r);

/* JSON upgrades, rollbacks and revision history (api_revisions.c) */
int api_store_upgrade(struct req *r);
int api_store_rollback(struct req *r);
int api_store_revisions(struct req *r);

/* JSON stores, events, OpenAPI document (api_stores.c) */
int api_stores_create(struct req *r);
int api_stores_list(struct req *r);
/* the list's route.token_join: the token lookup and the page in one statement */
int api_stores_token(struct req *r, const char *token, struct session_user *su, struct err *e);
int api_store_show(struct req *r);
int api_store_delete(struct req *r);
int api_store_undelete(struct req *r);
int api_deleted_stores(struct req *r);
int api_admin_deleted_stores(struct req *r);
int api_store_retry(struct req *r);
int api_store_suspend(struct req *r);
int api_store_resume(struct req *r);
int api_store_plan(struct req *r);
int api_store_backups(struct req *r);
int api_store_backup(struct req *r);
int api_store_restore(struct req *r);
int api_store_clone(struct req *r);
int api_store_restores(struct req *r);
int api_store_domains(struct req *r);
int api_store_domain_add(struct req *r);
int api_store_domain_show(struct req *r);
int api_store_domain_remove(struct req *r);
int api_plans(struct req *r);
int api_store_events(struct req *r);
int api_openapi(struct req *r);

/* WooCommerce webhook deliveries: signed, no session (hook_woocommerce.c) */
int hook_woocommerce(struct req *r);

/* admin pages (page_admin.c) */
int page_admin_stores(struct req *r);
int page_admin_users(struct req *r);
int page_admin_user_role(struct req *r);
int page_admin_user_disable(struct req *r);
int page_admin_user_enable(struct req *r);
int page_admin_user_suspend_stores(struct req *r);
int page_admin_audit(struct req *r);
int page_admin_clusters(struct req *r);
int page_admin_cluster_drain(struct req *r);
int page_admin_cluster_undrain(struct req *r);
/* their query strings, shared with the JSON twins */
struct admin_stores_query;
struct admin_users_query;
struct admin_audit_query;
void admin_stores_query_read(struct req *r, struct admin_stores_query *q);
void admin_users_query_read(struct req *r, struct admin_users_query *q);
void admin_audit_query_read(struct req *r, struct admin_audit_query *q);

/* JSON twins of the admin pages, the audit log included (api_admin.c) */
int api_admin_stores(struct req *r);
int api_admin_users(struct req *r);
int api_admin_user_patch(struct req *r);
int api_admin_audit(struct req *r);
int api_admin_clusters(struct req *r);
int api_admin_cluster_patch(struct req *r);

/*
 * The debug routes under /_test/ (page_test.c), only in the test build of
 * the program (build/tests/storefleet-test.fcgi), never in storefleet.fcgi.
 */
extern const struct route page_test_routes[];

#endif
