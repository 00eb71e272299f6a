#!/bin/bash
# t0504 - /api/v1/openapi.json: valid OpenAPI 3.0 (swagger-cli from npm), served as is, covering every API route.
. "$SF_ROOT/tests/lib.sh"

doc=$SF_ROOT/static/openapi.json
if [ ! -x "$SF_ROOT/node_modules/.bin/swagger-cli" ]; then
	(cd "$SF_ROOT" && npm ci --no-audit --no-fund --prefer-offline >"$T/npm.log" 2>&1) ||
		{ cat "$T/npm.log" >&2; bail "npm ci failed: cannot install the OpenAPI validator"; }
fi
out=$("$SF_ROOT/node_modules/.bin/swagger-cli" validate "$doc" 2>&1)
rc=$?
ok "swagger-cli validates static/openapi.json" test $rc -eq 0
[ $rc -eq 0 ] || diag "$out"
# The validator is real: a response that points at a schema that does not exist is refused.
sed 's|#/components/schemas/Store"|#/components/schemas/Shop"|' "$doc" >"$T/broken.json"
validate_quietly() { "$SF_ROOT/node_modules/.bin/swagger-cli" validate "$1" >/dev/null 2>&1; }
nok "swagger-cli refuses a document with a dangling \$ref" validate_quietly "$T/broken.json"
is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["openapi"][:4])' "$doc")" "3.0." "OpenAPI 3.0"

# Every /api/v1 route of the route table is documented, and nothing else is.
sed -n 's|^[[:space:]]*{"\([A-Z]*\)", "/api/v1\([^"]*\)".*|\1 \2|p' "$SF_ROOT/cgi-bin/route.c" | sort >"$T/routes.txt"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p, item in d["paths"].items():
    for m in item:
        if m in ("get", "post", "put", "patch", "delete"):
            print(m.upper(), p)' "$doc" | sort >"$T/documented.txt"
ok "the route table has API routes" test "$(wc -l <"$T/routes.txt")" -ge 10
missing=$(comm -23 "$T/routes.txt" "$T/documented.txt")
is "$missing" "" "every /api/v1 route in cgi-bin/route.c is in the document"
extra=$(comm -13 "$T/routes.txt" "$T/documented.txt")
is "$extra" "" "every documented operation exists in the route table"

q() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$doc" "$1"; }
is "$(q 'd["components"]["securitySchemes"]["bearer"]["scheme"]')" bearer "bearer security scheme"
is "$(q '[p["name"] for p in d["paths"]["/stores"]["post"]["parameters"] if "$ref" not in p] or d["components"]["parameters"]["IdempotencyKey"]["name"]')" \
	Idempotency-Key "the Idempotency-Key header"
is "$(q '"Retry-After" in d["components"]["responses"]["TooManyRequests"]["headers"]')" True "429 documents Retry-After"
is "$(q 'sorted(d["components"]["schemas"]["Store"]["required"])')" \
	"['admin_url', 'created_at', 'engine', 'id', 'name', 'ready_at', 'status', 'status_reason', 'updated_at', 'url']" \
	"the Store object as in docs/api.md"
# Registration answers a free and a taken address alike (t0210): 202, never 201 or 409.
is "$(q 'sorted(c for c in d["paths"]["/auth/register"]["post"]["responses"] if c < "300" or c == "409")')" \
	"['202']" "register: 202 is its only success, no 409"

# Served by the app, byte for byte, without a token.
sf_stack
NOCOOKIES=1 http GET /api/v1/openapi.json
is "$STATUS" 200 "GET /api/v1/openapi.json -> 200"
like "$(header Content-Type)" '^application/json' "as application/json"
cmp -s "$T/body" "$doc"
ok "the body is static/openapi.json" test $? -eq 0
done_testing
