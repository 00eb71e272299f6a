#!/bin/bash
# t0209 - authorization denials are refused and audited with actor, address and reason.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"

sf_stack
CTL=$SF_BUILD/bin/storefleetctl
"$CTL" user add boss@example.com >/dev/null || bail "user add"
"$CTL" user add tina@example.com >/dev/null || bail "user add"
admin=$("$CTL" token create boss@example.com)
tenant=$("$CTL" token create tina@example.com)

NOCOOKIES=1 http GET /api/v1/audit -H "Authorization: Bearer $tenant"
is "$STATUS" 403 "a tenant asking for the audit log -> 403"
is "$(json_get 'j["error"]["code"]')" forbidden "code forbidden"
row=$(q "select actor_email || '|' || ip || '|' || target || '|' || (details->>'reason')
	from audit_log where action = 'auth.denied' order by id desc limit 1")
is "$row" "tina@example.com|127.0.0.1|/api/v1/audit|admin required" \
	"the denial is audited: actor, address, target, reason"
NOCOOKIES=1 http GET /admin/stores -H "Authorization: Bearer $tenant"
is "$STATUS" 403 "a tenant on an admin page -> 403"
is "$(q "select count(*) from audit_log where action = 'auth.denied' and actor_email = 'tina@example.com'")" 2 \
	"both denials audited"

NOCOOKIES=1 http GET /api/v1/audit -H "Authorization: Bearer $admin"
is "$STATUS" 200 "the admin reads the audit log"
like "$BODY" 'auth.denied' "and sees the denials"
NOCOOKIES=1 http GET /api/v1/audit -H "Authorization: Bearer ${admin%?}x"
is "$STATUS" 401 "a mangled token is anonymous -> 401"
NOCOOKIES=1 http GET /api/v1/audit -H "Authorization: Basic Ym9zczpwdw=="
is "$STATUS" 401 "Basic authentication is not a way in -> 401"

# Role changes by storefleetctl take effect at once (no cached roles).
"$CTL" user role tina@example.com admin >/dev/null
NOCOOKIES=1 http GET /api/v1/audit -H "Authorization: Bearer $tenant"
is "$STATUS" 200 "promoted with storefleetctl: allowed on the next request"
"$CTL" user role tina@example.com tenant >/dev/null
NOCOOKIES=1 http GET /api/v1/audit -H "Authorization: Bearer $tenant"
is "$STATUS" 403 "demoted: refused on the next request"
is "$(q "select count(*) from audit_log where action = 'user.role' and target = 'tina@example.com'")" 2 \
	"both role changes audited"
done_testing
