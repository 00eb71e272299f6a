/* readiness.h - is a store ready, still progressing, or failed? (docs/readiness.md) */
#ifndef SF_READINESS_H
#define SF_READINESS_H

#include <jansson.h>

/*
 * A pure function over what reconcile observed: the objects the blueprint
 * says should exist, and what the API server listed for the store's
 * namespace.  No I/O, so every rule is unit-tested with fixtures, and the
 * reconcile reads as the state machine of docs/design.md section 3.
 *
 * The HTTP probe through the ingress is not judged here: reconcile does it
 * once this says every object is healthy (health == HEALTH_READY).
 */
enum health {
	HEALTH_PROGRESSING,	/* keep waiting (reason says for what) */
	HEALTH_READY,		/* every object healthy */
	HEALTH_FAILED,		/* a hard failure: reason says what, in plain words */
};

struct observed {
	const json_t *expected;		/* array: the rendered objects (kind, metadata.name) */
	const json_t *ns;		/* the Namespace object, NULL when GET said 404 */
	/* arrays of items as listed (NULL = none); only this store's objects */
	const json_t *pvcs, *statefulsets, *deployments, *jobs, *pods, *events;
	long long now;			/* unix seconds, from the database clock */
	int grace;			/* seconds a pod/PVC may wait before it counts as failed */
	int deleting;			/* 1 when we asked for the namespace to go */
};

struct health_report {
	enum health health;
	char step[16];		/* the first step not done: namespace|database|app|setup|ingress|done */
	char reason[320];	/* for a person: what we wait for, or why it failed */
};

/* Judge o; always fills out (never fails). */
void readiness_evaluate(const struct observed *o, struct health_report *out);

/* RFC 3339 "2026-11-22T03:17:00Z" (fraction and offset allowed) -> unix seconds, -1 if bad. */
long long readiness_parse_time(const char *s);

#endif
