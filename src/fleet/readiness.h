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

/*
 * What a pod's status says is wrong with it.  The pod rules live here
 * alone: readiness_evaluate fails a store on the problems below that are
 * past the grace window (docs/readiness.md), and readiness_pod_problems
 * lists them all for whoever wants to say why pods are not running.
 */
enum pod_problem_kind {
	POD_FAILED,	 /* phase Failed (Evicted...) */
	POD_UNSCHEDULED, /* condition PodScheduled is False */
	POD_WAITING,	 /* a container waits for a reason other than normal startup */
	POD_TERMINATED,	 /* a container exited non-zero */
};

struct pod_problem {
	enum pod_problem_kind kind;
	/* borrowed from the pods array: valid while it lives; "" when absent */
	const char *pod;
	const char *container; /* "" for pod-level problems */
	const char *image;     /* the container's image */
	const char *reason; /* as the status says: ImagePullBackOff, Unschedulable, OOMKilled... */
	const char *message;
	int restarts; /* the container's restartCount (0 for pod-level problems) */
};

/*
 * The problems of pods (an array of Pod objects), pod by pod: phase Failed,
 * PodScheduled False, then init containers and containers (waiting for
 * anything but ContainerCreating or PodInitializing, or terminated with a
 * non-zero exit code).  Fills up to max of out; returns how many were
 * found (may exceed max).  Pure.
 */
int readiness_pod_problems(const json_t *pods, struct pod_problem *out, int max);

/* RFC 3339 "2026-11-22T03:17:00Z" (fraction and offset allowed) -> unix seconds, -1 if bad. */
long long readiness_parse_time(const char *s);

/*
 * The API server's quota refusal (403 "KIND \"NAME\" is forbidden: exceeded
 * quota: QUOTA, requested: R, used: U, limited: L", alone or inside a
 * controller's FailedCreate event) said as a person would, in out (n bytes):
 * "the store's resource quota refused KIND \"NAME\": it asks for R, and U of
 * L is in use already (quota QUOTA)".  1 when msg is such a refusal, else 0
 * (out untouched).
 */
int readiness_quota_words(const char *msg, char *out, size_t n);

#endif
