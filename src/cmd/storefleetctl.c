/* storefleetctl - the operator's command line: migrate, users, tokens, render, store upgrades, clusters. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "log.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{"migrate", ctl_migrate, "migrate"},
	{"user", ctl_user, "user add EMAIL [--admin] | user list | user role EMAIL admin|tenant | "
			   "user disable|enable EMAIL | user suspend-stores EMAIL"},
	{"token", ctl_token, "token create EMAIL [--name N]"},
	{"render", ctl_render,
	 "render ENGINE [--overlay local|prod] [--values FILE] [--plan NAME] [--store-id ID] [--json] "
	 "[--show-secrets]"},
	{"store", ctl_store,
	 "store upgrade ID --version V | store rollback ID --revision N | store revisions ID | "
	 "store suspend|resume ID | store plan ID NAME | store domain add|remove ID DOMAIN | "
	 "store domain list ID | store list [--status S] [--engine E] [--owner EMAIL]"},
	{"mail", ctl_mail, "mail test ADDRESS [--note TEXT] | mail list [--state S] | mail resend ID"},
	{"cluster", ctl_cluster,
	 "cluster add NAME (--kubeconfig FILE [--context CTX] | --in-cluster) [--region R] "
	 "[--store-domain D] [--overlay local|prod] [--max-stores N] [--max-cpu 8|8000m] "
	 "[--max-memory 16Gi] | cluster list | cluster drain|undrain NAME | cluster remove NAME"},
};

static int usage(FILE *f)
{
	fprintf(f, "usage: storefleetctl COMMAND [ARGS]\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  storefleetctl %s\n", commands[i].usage);
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	struct err e = ERR_INIT;

	log_init("storefleetctl", LOG_WARN);
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return usage(stdout);
	if (config_load(&config, &e) < 0) {
		fprintf(stderr, "storefleetctl: %s\n", e.msg);
		return 1;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "storefleetctl: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
