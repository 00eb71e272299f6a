#!/bin/bash
# t0471-kubesim-watch-history.sh - kubesim's watch past its window and over time, as the API server's cacher: 410 Expired for a resourceVersion older than the kept changes (--watch-window) with the server's message, periodic BOOKMARKs (allowWatchBookmarks), sendInitialEvents with the initial-events-end bookmark, a slow watcher dropped without slowing writes, a client that hangs up freed.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

W=48
ks_start --watch-window $W --watch-queue 8 --watch-bookmark-ms 300
cm() { # NS NAME DATA
	kpost "/api/v1/namespaces/$1/configmaps" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$2\",\"labels\":{\"app\":\"h\"}},\"data\":{\"v\":\"$3\"}}"
}
cmpatch() { # NS NAME MERGE-PATCH
	kreq PATCH "/api/v1/namespaces/$1/configmaps/$2" -H 'Content-Type: application/merge-patch+json' -d "$3"
}
store_rv() {
	kreq GET /api/v1/namespaces/h1/configmaps
	kjson 'j["metadata"]["resourceVersion"]'
}
watches_none() { [ "$(kwatches)" = 0 ]; }
watches_are() { [ "$(kwatches)" = "$1" ]; }
knsmake h1
cm h1 a 0

# --- 410 Expired past the window -------------------------------------------------------------
old=$(store_rv)
for i in $(seq 1 $((W + 6))); do cmpatch h1 a "{\"data\":{\"v\":\"$i\"}}"; done
cur=$(store_rv)
kwatch gone "/api/v1/namespaces/h1/configmaps?watch=1&resourceVersion=$old"
kwatch_wait gone
is "$WRC" 0 "a watch from a resourceVersion past the window: a complete answer"
is "$(head -n 1 "$T/gone.h" | tr -d '\r' | cut -d' ' -f2)" 200 "status 200, the error is in the stream"
is "$(wev gone '" ".join(t(e) for e in ev)')" ERROR "one ERROR event, and the stream ends"
is "$(wev gone 'json.dumps(ev[0]["object"], sort_keys=True)')" \
	"{\"apiVersion\": \"v1\", \"code\": 410, \"kind\": \"Status\", \"message\": \"too old resource version: $old ($((cur - W)))\", \"metadata\": {}, \"reason\": \"Expired\", \"status\": \"Failure\"}" \
	"a Status 410 Expired: too old resource version: N (the oldest kept - 1), the watch cache's words"
kwatch edge "/api/v1/namespaces/h1/configmaps?watch=1&resourceVersion=$((cur - W))&timeoutSeconds=1"
kwatch past "/api/v1/namespaces/h1/configmaps?watch=1&resourceVersion=$((cur - W - 1))"
kwatch_wait edge
kwatch_wait past
is "$(wev edge "'%d %d %s' % (len(ev), rv(ev[0]) - $cur, sorted(set(t(e) for e in ev)))")" "$W $((1 - W)) ['MODIFIED']" \
	"from the oldest kept - 1: all $W kept changes"
is "$(wev past 'ev[0]["object"]["message"]')" "too old resource version: $((cur - W - 1)) ($((cur - W)))" "one further back: 410"
kwatch now "/api/v1/namespaces/h1/configmaps?watch=1&resourceVersion=$cur"
wait_for 5 watches_are 1
cmpatch h1 a '{"data":{"v":"next"}}'
wsees now '"next"'
is "$(wev now '" ".join(t(e) for e in ev)')" MODIFIED "from the current resourceVersion: the next change"
kwatch_stop now

# --- periodic bookmarks -------------------------------------------------------------------------
kwatch bm '/api/v1/namespaces/h1/configmaps?watch=1&allowWatchBookmarks=true&labelSelector=app%3Dnone'
kwatch nobm '/api/v1/namespaces/h1/configmaps?watch=1&labelSelector=app%3Dnone'
bookmarks_at_least() { [ "$(wev bm 'sum(t(e)=="BOOKMARK" for e in ev)')" -ge "$1" ]; }
wait_for 10 bookmarks_at_least 2
cmpatch h1 a '{"data":{"v":"unseen"}}'
after=$(store_rv)
wait_for 10 bookmarks_at_least 4
is "$(wev bm 'set(t(e) for e in ev)')" "{'BOOKMARK'}" "allowWatchBookmarks=true: BOOKMARK events every --watch-bookmark-ms"
is "$(wev bm 'all(list(e["object"]["metadata"]) == ["resourceVersion"] for e in ev)')" True \
	"whose object has only metadata.resourceVersion"
is "$(wev bm 'ev[0]["object"]["kind"]+" "+ev[0]["object"]["apiVersion"]')" "ConfigMap v1" "and the kind"
is "$(wev bm 'rv(ev[-1])')" "$after" "a bookmark moves on with changes the watch does not see"
is "$(wev bm 'all(rv(a) <= rv(b) for a, b in zip(ev, ev[1:]))')" True "never backwards"
is "$(wev nobm 'len(ev)')" 0 "without allowWatchBookmarks: none"
kwatch_stop bm
kwatch_stop nobm

# --- sendInitialEvents (the WatchList streaming list) ---------------------------------------------
cm h1 b 0
cur=$(store_rv)
Q='watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan'
kwatch sie "/api/v1/namespaces/h1/configmaps?$Q&allowWatchBookmarks=true"
wsees sie initial-events-end
is "$(wev sie '" ".join(t(e)+":"+n(e) for e in ev[:3])')" "ADDED:a ADDED:b BOOKMARK:" \
	"sendInitialEvents=true: the state as ADDED, then a BOOKMARK"
is "$(wev sie 'json.dumps(ev[2]["object"]["metadata"], sort_keys=True)')" \
	"{\"annotations\": {\"k8s.io/initial-events-end\": \"true\"}, \"resourceVersion\": \"$cur\"}" \
	"annotated k8s.io/initial-events-end: \"true\" at the state's resourceVersion"
cmpatch h1 b '{"data":{"v":"1"}}'
wsees sie '"v":"1"'
is "$(wev sie '" ".join(t(e)+":"+n(e) for e in ev[3:] if t(e) != "BOOKMARK")')" "MODIFIED:b" "then the changes"
kwatch_stop sie
kwatch sie2 "/api/v1/namespaces/h1/configmaps?$Q&resourceVersion=$cur&allowWatchBookmarks=true&labelSelector=app%3Dh"
wsees sie2 initial-events-end
is "$(wev sie2 '" ".join(t(e)+":"+n(e) for e in ev[:3])')" "ADDED:a ADDED:b BOOKMARK:" \
	"resourceVersion=N with NotOlderThan: the state (not older than N)"
kwatch_stop sie2
kwatch sie3 "/api/v1/namespaces/h1/configmaps?$Q&timeoutSeconds=1"
kwatch_wait sie3
is "$(wev sie3 '" ".join(t(e)+":"+n(e) for e in ev)')" "ADDED:a ADDED:b" \
	"no allowWatchBookmarks: the state, no end bookmark (isInitialEventsEndBookmarkRequired)"
kwatch sie4 "/api/v1/namespaces/h1/configmaps?watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&resourceVersion=$cur&timeoutSeconds=2"
wait_for 5 watches_are 1
cmpatch h1 a '{"data":{"v":"x"}}'
kwatch_wait sie4
is "$(wev sie4 '" ".join(t(e)+":"+n(e) for e in ev)')" "MODIFIED:b MODIFIED:a" \
	"sendInitialEvents=false from N: the changes after N only"
kwatch ahead "/api/v1/namespaces/h1/configmaps?$Q&resourceVersion=$((cur + 1000))"
kwatch_wait ahead
is "$(wev ahead 'ev[0]["type"]+" "+str(ev[0]["object"]["code"])+" "+ev[0]["object"]["reason"]+" "+ev[0]["object"]["details"]["causes"][0]["reason"]')" \
	"ERROR 504 Timeout ResourceVersionTooLarge" "a resourceVersion not reached yet: the cacher's Too large resource version"

# --- a slow watcher is dropped; writes go on --------------------------------------------------
big=$(head -c 500000 /dev/zero | tr '\0' x)
kwatch slow '/api/v1/namespaces/h1/configmaps?watch=1&labelSelector=app%3Dh'
wsees slow '"name":"b"'
slow_rv=$(wev slow 'max(rv(e) for e in ev)')
kill -STOP "$(cat "$T/slow.pid")"
t0=$(date +%s%N)
for i in $(seq 1 20); do
	printf '{"data":{"v":"%s","i":"%s"}}' "$big" "$i" >"$T/big.json"
	kreq PATCH /api/v1/namespaces/h1/configmaps/a -H 'Content-Type: application/merge-patch+json' \
		--data-binary "@$T/big.json"
	printf '{"data":{"n":"%s"}}' "$i" >"$T/n.json"
	kreq PATCH /api/v1/namespaces/h1/configmaps/b -H 'Content-Type: application/merge-patch+json' --data-binary "@$T/n.json"
done
el=$((($(date +%s%N) - t0) / 1000000))
is "$KSTATUS" 200 "40 writes (20 of 500 kB) while the watcher's client does not read (${el} ms)"
is "$(kwatches dropped)" 1 "the watcher whose queue filled is dropped"
kill -CONT "$(cat "$T/slow.pid")"
kwatch_wait slow 20
is "$WRC" 0 "its client gets what was on the way, then a clean end of the stream"
seen=$(wev slow 'max(rv(e) for e in ev)')
got=$(wev slow 'len([e for e in ev if rv(e) > '"$slow_rv"'])')
ok "fewer events than the 40 changes ($got)" test "$got" -lt 40
kwatch resume "/api/v1/namespaces/h1/configmaps?watch=1&labelSelector=app%3Dh&resourceVersion=$seen&timeoutSeconds=1"
kwatch_wait resume
is "$(wev resume 'len(ev)+'"$got")" 40 "watching again from the last resourceVersion it saw loses nothing"
is "$(wev resume 'rv(ev[0]) > '"$seen"' and all(rv(a) < rv(b) for a, b in zip(ev, ev[1:]))')" True \
	"and repeats nothing"
wait_for 5 watches_none
is "$(kwatches)" 0 "nothing left open"

# --- a client that hangs up frees its watch at once, even when nothing is sent ------------------
kwatch idle '/api/v1/namespaces/h1/configmaps?watch=1&labelSelector=app%3Dnone'
wait_for 5 watches_are 1
is "$(kwatches)" 1 "an idle watch is open"
kwatch_stop idle
wait_for 5 watches_none
is "$(kwatches)" 0 "the client hung up: freed without any event to send"
is "$(kwatches started)" 14 "every watch counted"

ks_stop_clean

done_testing
