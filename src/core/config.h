/* config.h - every setting of every program, from the environment or a YAML file. */
#ifndef SF_CONFIG_H
#define SF_CONFIG_H

#include "err.h"

/*
 * One table (config.c) names each setting once: its YAML key, its
 * environment variable (SF_ + upper-case key), its type and default.
 * Precedence: built-in default < YAML file (SF_CONFIG=path) < environment.
 * A bad value stops the program at start with one line naming the key.
 * To add a setting: a field here, a line in the table.
 */
struct config {
	/* database and paths */
	char *database_url;		/* libpq conninfo; "" = libpq's PG* defaults */
	char *root;			/* project root: templates/, charts/, sql/ live here */
	char *templates_dir;		/* default <root>/templates */
	char *charts_dir;		/* default <root>/charts */
	char *sql_dir;			/* default <root>/sql */
	char *plans_file;		/* default <charts_dir>/plans-<overlay>.yaml (plan.h) */

	/* web */
	int workers;			/* FastCGI worker processes */
	long body_max;			/* request body limit, bytes (64 KiB) */
	int registration_open;		/* /register allowed (the first user always may) */
	int cookie_secure;		/* 0 only in local plain-HTTP mode: plain sf_session cookie */
	char *public_origin;		/* "https://storefleet.example.com"; "" = from Host */
	int session_idle;		/* seconds */
	int session_absolute;		/* seconds */
	int login_fail_account;		/* failures per window per account */
	int login_fail_address;		/* failures per window per address */
	int login_fail_window;		/* seconds */
	int simulated_cluster;		/* show the "simulated cluster" label */
	char *log_level;		/* debug | info | warn | error (debug logs every request) */
	int metrics_cache;		/* seconds a worker reuses its /metrics database figures (0 = none) */
	int readyz_reconcile_age;	/* /readyz: seconds since reconcile's last pass (0 = not checked) */

	/* stores and guardrails (docs/design.md section 5) */
	char *domain;			/* store host suffix: store-<id>.<domain> */
	char *overlay;			/* local | prod */
	char *ingress_class;
	char *tls_issuer;		/* cert-manager issuer ("" = none) */
	char *tls_secret;		/* wildcard certificate secret ("" = none) */
	int stores_per_tenant;
	int stores_max;
	int creates_per_hour;
	int create_cooldown;		/* seconds between two creates by one tenant */
	int provisioning_concurrency;
	int provisioning_timeout;	/* seconds */
	int upgrade_timeout;		/* seconds an upgrade may take to become ready before it rolls back */
	int delete_timeout;		/* seconds before a stuck delete is flagged */
	int idempotency_ttl;		/* seconds */
	char *secret_key;		/* 64 hex chars: seals store credentials in the database */
	char *ingress_address;		/* "http://127.0.0.1:PORT": where reconcile probes stores */
	int failure_grace;		/* seconds a pod may wait (ImagePullBackOff...) before failing */
	int reconcile_interval;		/* seconds between passes under --for */
	int lease_seconds;		/* how long a claimed store stays leased */
	int observe_stale;		/* seconds a watched view may go without a bookmark or list before it is not trusted */
	int judge_sweep;		/* seconds within which reconcile's safety sweep judges every store again */
	int webhook_check_interval;	/* seconds between checks of a store's WooCommerce webhooks */
	int store_api_retry;		/* seconds before a failed read of a store's own API is retried */

	/* custom domains (docs/stores.md "Custom domains", sql/015_domains.sql) */
	int domains_per_store;		/* custom domains one store may have (claims included) */
	int domain_claim_ttl;		/* seconds a claim may stay unverified before it expires */
	int domain_check_interval;	/* seconds between two DNS look-ups of a pending claim */
	char *domain_resolver;		/* "IP" or "IP:PORT" of the DNS server asked; "" = /etc/resolv.conf */
	char *domain_ingress_host;	/* the CNAME target owners are told; "" = the store's own host */
	char *domain_ingress_ips;	/* addresses an A/AAAA record may name instead (comma-separated) */
	char *domain_issuer;		/* cert-manager issuer of custom domains' Certificates ("" = tls_issuer) */
	char *domain_issuer_kind;	/* ClusterIssuer | Issuer */
	int domain_cert_budget;		/* certificates per registered domain per 7 days (0 = no limit) */

	/* admission (docs/design.md "Placement and admission") */
	int capacity_interval;		/* seconds between two reads of a cluster's nodes and StorageClasses (0 = every pass) */

	/* kubernetes */
	char *kubeconfig;		/* "" = $KUBECONFIG, ~/.kube/config or in-cluster */
	char *kube_context;
	int kube_timeout;		/* seconds, total per request */
	int kube_body_max;		/* bytes: largest Kubernetes answer read (32 MiB) */
	char *kube_sa_dir;		/* in-cluster service-account files ("" = the standard path) */

	/* email (docs/operations.md, "Email") */
	char *mail_url;			/* smtp://host:587 (STARTTLS) or smtps://host:465; "" = not sent */
	char *mail_tls;			/* smtp:// only: required | optional | none (STARTTLS) */
	char *mail_ca_file;		/* PEM CA bundle to trust ("" = the system's) */
	char *mail_user;		/* AUTH user ("" = no AUTH) */
	char *mail_password;		/* AUTH password (env SF_MAIL_PASSWORD); never logged */
	char *mail_password_file;	/* or a file holding it (first line) */
	char *mail_from;		/* "storefleet <noreply@example.com>" or a bare address */
	int mail_timeout;		/* seconds one message may take, connect to 250 */
	int mail_retry_base;		/* seconds before the first retry; doubles each attempt */
	int mail_retry_max;		/* longest wait between two attempts, seconds */
	int mail_max_attempts;		/* attempts before a message is marked failed */
	int mail_lease;			/* seconds a claimed message stays with its sender */
	int mail_interval;		/* seconds between looks at the outbox under --for */
	int reset_ttl;			/* seconds a password-reset link works */
	int reset_per_email;		/* reset requests per address per reset_window */
	int reset_per_address;		/* reset requests per source address per reset_window */
	int reset_window;		/* seconds */
	char *email_verification;	/* optional | required: must a new account verify first */

	/* stores' backups to S3-compatible object storage (docs/operations.md "The stores' data") */
	char *backup_endpoint;		/* http(s)://host[:port]; "" = no backups */
	char *backup_bucket;
	char *backup_region;
	int backup_path_style;		/* the bucket in the path (true) or the host name */
	char *backup_sse;		/* "" | AES256 | aws:kms */
	char *backup_access_key;	/* the key id */
	char *backup_secret_key;	/* env SF_BACKUP_SECRET_KEY; never logged */
	char *backup_secret_key_file;	/* or a file holding it (first line) */
	char *backup_egress_cidr;	/* the backup pods' egress policy towards object storage */
	int backup_egress_port;
	int backup_interval;		/* seconds between a store's scheduled backups (86400: daily; 0 = none) */
	int backup_concurrency;		/* backups running at once, fleet-wide, that the schedule starts */
	int backup_keep_daily;		/* complete backups kept: the newest of each of N days */
	int backup_keep_weekly;		/* and of each of M weeks before those */
	int backup_timeout;		/* seconds a backup Job may run (the Job's deadline too) */
	int revive_window;		/* seconds a deleted store stays restorable (undelete), its backups kept */
};

/* Fill c from defaults, the optional YAML file and the environment. */
int config_load(struct config *c, struct err *e);
void config_release(struct config *c);

/* Set one setting by its YAML key from a string (for the YAML file; from names the source). */
int config_set(struct config *c, const char *key, const char *val, const char *from,
	       struct err *e);

/* Apply a YAML file of settings (config_file.c): a mapping of key -> scalar. */
int config_load_file(struct config *c, const char *path, struct err *e);

/* The process-wide configuration (valid after config_load(&config, ...)). */
extern struct config config;

#endif
