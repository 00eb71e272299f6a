/* lifecycle.c - store statuses, steps, ids and URLs (lifecycle.h). */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "config.h"
#include "lifecycle.h"

const char *const store_statuses[STORE_STATUS_N + 1] = {
    [STORE_REQUESTED] = "requested", [STORE_PROVISIONING] = "provisioning",
    [STORE_READY] = "ready",	     [STORE_DEGRADED] = "degraded",
    [STORE_UPGRADING] = "upgrading", [STORE_SUSPENDING] = "suspending",
    [STORE_SUSPENDED] = "suspended", [STORE_RESUMING] = "resuming",
    [STORE_FAILED] = "failed",	     [STORE_DELETING] = "deleting",
    [STORE_DELETED] = "deleted",     [STORE_STATUS_N] = NULL,
};

const struct store_step_info store_step_table[STEP_N] = {
    [STEP_RENDER] = {"render", NULL, "the blueprint rendered"},
    [STEP_NAMESPACE] = {"namespace", "Namespace", "namespace created"},
    [STEP_ISOLATION] = {"isolation", "Quota, limits and network policies",
			"resource quota, limit range and network policies applied"},
    [STEP_SECRETS] = {"secrets", "Secrets", "credentials generated and kept in the cluster"},
    [STEP_DATABASE] = {"database", "Database", "database is ready"},
    [STEP_APP] = {"app", "Application", "app is running"},
    [STEP_SETUP] = {"setup", "Setup job", "setup job completed"},
    [STEP_INGRESS] = {"ingress", "Ingress", "the store answers through the ingress"},
    [STEP_READINESS] = {"readiness", "Readiness checks", "every readiness check passed"},
    [STEP_READY] = {"ready", NULL, "store is ready"},
};

const char *store_status_name(enum store_status s)
{
	return (unsigned)s < STORE_STATUS_N ? store_statuses[s] : "";
}

int store_status_parse(const char *s)
{
	for (int i = 0; s && i < STORE_STATUS_N; i++)
		if (!strcmp(s, store_statuses[i]))
			return i;
	return -1;
}

int store_status_valid(const char *s)
{
	return store_status_parse(s) >= 0;
}

int store_status_busy(const char *status)
{
	switch (store_status_parse(status)) {
	case STORE_REQUESTED:
	case STORE_PROVISIONING:
	case STORE_UPGRADING:
	case STORE_SUSPENDING:
	case STORE_RESUMING:
	case STORE_DELETING:
		return 1;
	default:
		return 0;
	}
}

int store_status_suspendable(int s)
{
	return s == STORE_READY || s == STORE_DEGRADED || s == STORE_RESUMING;
}

int store_status_resumable(int s)
{
	return s == STORE_SUSPENDING || s == STORE_SUSPENDED;
}

int store_step_parse(const char *s)
{
	for (int i = 0; s && i < STEP_N; i++)
		if (!strcmp(s, store_step_table[i].name))
			return i;
	return -1;
}

void store_new_id(char id[STORE_ID_LEN + 1])
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	id[0] = alnum[randombytes_uniform(26)];
	for (int i = 1; i < STORE_ID_LEN; i++)
		id[i] = alnum[randombytes_uniform(36)];
	id[STORE_ID_LEN] = '\0';
}

int store_id_valid(const char *id)
{
	if (!id || strlen(id) != STORE_ID_LEN || id[0] < 'a' || id[0] > 'z')
		return 0;
	for (int i = 1; i < STORE_ID_LEN; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
			return 0;
	return 1;
}

const char *store_url_in(struct arena *a, const char *id, const char *domain)
{
	return arena_printf(a, "%s://store-%s.%s/",
			    strcmp(config.overlay, "prod") ? "http" : "https", id,
			    domain && *domain ? domain : config.domain);
}

const char *store_cname_target(struct arena *a, const char *id, const char *domain)
{
	if (domain && *domain)
		return arena_printf(a, "store-%s.%s", id, domain);
	if (*config.domain_ingress_host)
		return arena_printf(a, "%s", config.domain_ingress_host);
	return arena_printf(a, "store-%s.%s", id, config.domain);
}

const char *store_url(struct arena *a, const char *id)
{
	return store_url_in(a, id, NULL);
}

const char *store_admin_url_in(struct arena *a, const char *id, const char *engine,
			       const char *domain)
{
	return arena_printf(a, "%s%s", store_url_in(a, id, domain),
			    engine && !strcmp(engine, "medusa") ? "app" : "wp-admin/");
}

const char *store_admin_url(struct arena *a, const char *id, const char *engine)
{
	return store_admin_url_in(a, id, engine, NULL);
}

int store_host_id(const char *host, char id[STORE_ID_LEN + 1])
{
	const char *d;
	size_t dl = strlen(config.domain), n;

	if (!store_host_any(host, id, &d, &n))
		return 0;
	if (!dl || n != dl || strncasecmp(d, config.domain, dl)) {
		id[0] = 0;
		return 0;
	}
	return 1;
}

int store_host_any(const char *host, char id[STORE_ID_LEN + 1], const char **domain, size_t *dlen)
{
	size_t n;

	id[0] = 0;
	*domain = NULL;
	*dlen = 0;
	if (!host)
		return 0;
	n = strcspn(host, ":");
	if (n <= 6 + STORE_ID_LEN + 1 || strncasecmp(host, "store-", 6) ||
	    host[6 + STORE_ID_LEN] != '.')
		return 0;
	for (int i = 0; i < STORE_ID_LEN; i++) {
		char c = host[6 + i];

		id[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	id[STORE_ID_LEN] = 0;
	if (!store_id_valid(id)) {
		id[0] = 0;
		return 0;
	}
	*domain = host + 7 + STORE_ID_LEN;
	*dlen = n - 7 - STORE_ID_LEN;
	return 1;
}
