/* ctl.h - the subcommands of storefleetctl, one function per command family. */
#ifndef SF_CTL_H
#define SF_CTL_H

/*
 * Each takes the arguments after the command word (argv[0] is the command)
 * and returns the process exit status: 0 done, 1 failed (message printed on
 * stderr), 2 usage error.
 */
int ctl_migrate(int argc, char **argv);	/* ctl_db.c */
int ctl_user(int argc, char **argv);	/* ctl_user.c: add | list | role | disable | enable */
int ctl_token(int argc, char **argv);	/* ctl_user.c: create */
int ctl_render(int argc, char **argv);	/* ctl_render.c */
int ctl_store(int argc, char **argv);	/* ctl_store.c: upgrade | rollback | revisions */
int ctl_store_domain(int argc, char **argv); /* ctl_domain.c: store domain add | list | remove */
int ctl_mail(int argc, char **argv);	/* ctl_mail.c: test | list | resend */
int ctl_cluster(int argc, char **argv);	/* ctl_cluster.c: add | list | drain | undrain | remove */

#endif
