/* config.c - the settings table: defaults, YAML file, environment. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

struct config config;

enum ctype { C_STR, C_INT, C_BOOL };

struct setting {
	const char *key;	/* YAML key; env is SF_<KEY upper-cased> */
	enum ctype type;
	size_t off;
	const char *def;
	long min, max;		/* integers only */
};

#define S(k, f, d) {k, C_STR, offsetof(struct config, f), d, 0, 0}
#define I(k, f, d, lo, hi) {k, C_INT, offsetof(struct config, f), d, lo, hi}
#define B(k, f, d) {k, C_BOOL, offsetof(struct config, f), d, 0, 1}

static const struct setting settings[] = {
	S("database_url", database_url, ""),
	S("root", root, "."),
	S("templates_dir", templates_dir, ""),
	S("charts_dir", charts_dir, ""),
	S("sql_dir", sql_dir, ""),
	S("plans_file", plans_file, ""),

	I("workers", workers, "2", 1, 256),
	I("body_max", body_max, "65536", 1024, 64L << 20),
	B("registration_open", registration_open, "true"),
	B("cookie_secure", cookie_secure, "true"),
	S("public_origin", public_origin, ""),
	I("session_idle", session_idle, "1800", 10, 30L * 86400),
	I("session_absolute", session_absolute, "43200", 10, 365L * 86400),
	I("login_fail_account", login_fail_account, "10", 1, 1000000),
	I("login_fail_address", login_fail_address, "50", 1, 1000000),
	I("login_fail_window", login_fail_window, "900", 1, 86400),
	B("simulated_cluster", simulated_cluster, "false"),
	S("log_level", log_level, "info"),
	I("metrics_cache", metrics_cache, "5", 0, 3600),
	I("readyz_reconcile_age", readyz_reconcile_age, "180", 0, 7 * 86400),

	S("domain", domain, "127.0.0.1.nip.io"),
	S("overlay", overlay, "local"),
	S("ingress_class", ingress_class, "traefik"),
	S("tls_issuer", tls_issuer, ""),
	S("tls_secret", tls_secret, ""),
	I("stores_per_tenant", stores_per_tenant, "5", 0, 1000000),
	I("stores_max", stores_max, "100", 0, 10000000),
	I("creates_per_hour", creates_per_hour, "5", 0, 1000000),
	I("create_cooldown", create_cooldown, "30", 0, 86400),
	I("provisioning_concurrency", provisioning_concurrency, "4", 1, 10000),
	I("provisioning_timeout", provisioning_timeout, "900", 1, 7 * 86400),
	I("upgrade_timeout", upgrade_timeout, "600", 1, 7 * 86400),
	I("delete_timeout", delete_timeout, "600", 1, 7 * 86400),
	I("idempotency_ttl", idempotency_ttl, "86400", 60, 30 * 86400),
	S("secret_key", secret_key, ""),
	S("ingress_address", ingress_address, ""),
	I("failure_grace", failure_grace, "120", 0, 86400),
	I("reconcile_interval", reconcile_interval, "2", 1, 3600),
	I("lease_seconds", lease_seconds, "60", 5, 3600),
	I("observe_stale", observe_stale, "90", 1, 3600),
	I("judge_sweep", judge_sweep, "600", 1, 7 * 86400),
	I("webhook_check_interval", webhook_check_interval, "300", 1, 7 * 86400),
	I("store_api_retry", store_api_retry, "60", 1, 86400),
	I("domains_per_store", domains_per_store, "5", 0, 1000),
	I("domain_claim_ttl", domain_claim_ttl, "604800", 1, 365L * 86400),
	I("domain_check_interval", domain_check_interval, "60", 1, 86400),
	S("domain_resolver", domain_resolver, ""),
	S("domain_ingress_host", domain_ingress_host, ""),
	S("domain_ingress_ips", domain_ingress_ips, ""),
	S("domain_issuer", domain_issuer, ""),
	S("domain_issuer_kind", domain_issuer_kind, "ClusterIssuer"),
	I("domain_cert_budget", domain_cert_budget, "50", 0, 1000000),
	I("capacity_interval", capacity_interval, "60", 0, 86400),

	S("kubeconfig", kubeconfig, ""),
	S("kube_context", kube_context, ""),
	I("kube_timeout", kube_timeout, "10", 1, 600),
	I("kube_body_max", kube_body_max, "33554432", 4096, 1L << 30),
	S("kube_sa_dir", kube_sa_dir, ""),

	S("mail_url", mail_url, ""),
	S("mail_tls", mail_tls, "required"),
	S("mail_ca_file", mail_ca_file, ""),
	S("mail_user", mail_user, ""),
	S("mail_password", mail_password, ""),
	S("mail_password_file", mail_password_file, ""),
	S("mail_from", mail_from, "storefleet <storefleet@localhost>"),
	I("mail_timeout", mail_timeout, "30", 1, 600),
	I("mail_retry_base", mail_retry_base, "30", 1, 86400),
	I("mail_retry_max", mail_retry_max, "3600", 1, 7 * 86400),
	I("mail_max_attempts", mail_max_attempts, "20", 1, 1000),
	I("mail_lease", mail_lease, "120", 2, 86400),
	I("mail_interval", mail_interval, "5", 1, 3600),
	I("reset_ttl", reset_ttl, "1800", 60, 86400),
	I("reset_per_email", reset_per_email, "3", 1, 1000000),
	I("reset_per_address", reset_per_address, "20", 1, 1000000),
	I("reset_window", reset_window, "3600", 1, 86400),
	S("email_verification", email_verification, "optional"),

	S("backup_endpoint", backup_endpoint, ""),
	S("backup_bucket", backup_bucket, ""),
	S("backup_region", backup_region, "us-east-1"),
	B("backup_path_style", backup_path_style, "true"),
	S("backup_sse", backup_sse, ""),
	S("backup_access_key", backup_access_key, ""),
	S("backup_secret_key", backup_secret_key, ""),
	S("backup_secret_key_file", backup_secret_key_file, ""),
	S("backup_egress_cidr", backup_egress_cidr, "0.0.0.0/0"),
	I("backup_egress_port", backup_egress_port, "443", 1, 65535),
	I("backup_interval", backup_interval, "86400", 0, 365L * 86400),
	I("backup_concurrency", backup_concurrency, "4", 1, 10000),
	I("backup_keep_daily", backup_keep_daily, "7", 0, 3650),
	I("backup_keep_weekly", backup_keep_weekly, "4", 0, 520),
	I("backup_timeout", backup_timeout, "3600", 10, 7 * 86400),
	I("revive_window", revive_window, "604800", 0, 365L * 86400),
};

static int set_value(struct config *c, const struct setting *s, const char *val,
		     const char *from, struct err *e)
{
	char *p = (char *)c + s->off, *end;
	long v;

	switch (s->type) {
	case C_STR:
		free(*(char **)p);
		*(char **)p = strdup(val);
		if (!*(char **)p)
			die_oom();
		return 0;
	case C_BOOL:
		if (!strcmp(val, "1") || !strcasecmp(val, "true") || !strcasecmp(val, "yes") ||
		    !strcasecmp(val, "on"))
			*(int *)p = 1;
		else if (!strcmp(val, "0") || !strcasecmp(val, "false") ||
			 !strcasecmp(val, "no") || !strcasecmp(val, "off"))
			*(int *)p = 0;
		else
			return err_set(e, 500, "config: %s: '%s' is not a boolean (true/false)",
				       from, val);
		return 0;
	case C_INT:
		errno = 0;
		v = strtol(val, &end, 10);
		if (errno || end == val || *end || v < s->min || v > s->max)
			return err_set(e, 500, "config: %s: '%s' is not an integer in %ld..%ld",
				       from, val, s->min, s->max);
		if (s->off == offsetof(struct config, body_max))
			*(long *)p = v;
		else
			*(int *)p = (int)v;
		return 0;
	}
	return 0;
}

static const struct setting *find_setting(const char *key)
{
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (!strcmp(settings[i].key, key))
			return &settings[i];
	return NULL;
}

int config_set(struct config *c, const char *key, const char *val, const char *from,
	       struct err *e)
{
	const struct setting *s = find_setting(key);

	if (!s)
		return err_set(e, 500, "config: %s: unknown setting '%s'", from, key);
	return set_value(c, s, val, from, e);
}

static char *default_path(const char *root, const char *sub)
{
	size_t n = strlen(root) + strlen(sub) + 2;
	char *p = malloc(n);

	if (!p)
		die_oom();
	snprintf(p, n, "%s/%s", root, sub);
	return p;
}

int config_load(struct config *c, struct err *e)
{
	const char *file;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (set_value(c, &settings[i], settings[i].def, settings[i].key, e) < 0)
			return -1;

	file = getenv("SF_CONFIG");
	if (file && *file) {
		if (config_load_file(c, file, e) < 0)
			return -1;
	}

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		char env[64];
		const char *val;
		size_t j;

		snprintf(env, sizeof(env), "SF_%s", settings[i].key);
		for (j = 3; env[j]; j++)
			env[j] = (char)toupper((unsigned char)env[j]);
		val = getenv(env);
		if (val && set_value(c, &settings[i], val, env, e) < 0)
			return -1;
	}

	if (!*c->templates_dir) {
		free(c->templates_dir);
		c->templates_dir = default_path(c->root, "templates");
	}
	if (!*c->charts_dir) {
		free(c->charts_dir);
		c->charts_dir = default_path(c->root, "charts");
	}
	if (!*c->sql_dir) {
		free(c->sql_dir);
		c->sql_dir = default_path(c->root, "sql");
	}
	if (strcmp(c->overlay, "local") && strcmp(c->overlay, "prod"))
		return err_set(e, 500, "config: overlay: '%s' is not 'local' or 'prod'", c->overlay);
	if (strcmp(c->mail_tls, "required") && strcmp(c->mail_tls, "optional") &&
	    strcmp(c->mail_tls, "none"))
		return err_set(e, 500, "config: mail_tls: '%s' is not required, optional or none",
			       c->mail_tls);
	if (strcmp(c->email_verification, "optional") && strcmp(c->email_verification, "required"))
		return err_set(e, 500, "config: email_verification: '%s' is not optional or required",
			       c->email_verification);
	if (strcmp(c->domain_issuer_kind, "ClusterIssuer") && strcmp(c->domain_issuer_kind, "Issuer"))
		return err_set(e, 500, "config: domain_issuer_kind: '%s' is not ClusterIssuer or Issuer",
			       c->domain_issuer_kind);
	if (strcmp(c->backup_sse, "") && strcmp(c->backup_sse, "AES256") && strcmp(c->backup_sse, "aws:kms"))
		return err_set(e, 500, "config: backup_sse: '%s' is not \"\", AES256 or aws:kms",
			       c->backup_sse);
	if (c->mail_lease <= c->mail_timeout)
		return err_set(e, 500, "config: mail_lease (%d) must exceed mail_timeout (%d)",
			       c->mail_lease, c->mail_timeout);
	if (!*c->plans_file) {
		size_t n = strlen(c->charts_dir) + strlen(c->overlay) + 32;

		free(c->plans_file);
		c->plans_file = malloc(n);
		if (!c->plans_file)
			die_oom();
		snprintf(c->plans_file, n, "%s/plans-%s.yaml", c->charts_dir, c->overlay);
	}
	if (c->session_idle > c->session_absolute)
		return err_set(e, 500, "config: session_idle (%d) exceeds session_absolute (%d)",
			       c->session_idle, c->session_absolute);
	return 0;
}

void config_release(struct config *c)
{
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (settings[i].type == C_STR) {
			char **p = (char **)((char *)c + settings[i].off);

			free(*p);
			*p = NULL;
		}
}
