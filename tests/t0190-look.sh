#!/bin/bash
# t0190-look.sh - the look through nginx: pages link only to static files that exist, with types the CSP allows.
. "$SF_ROOT/tests/lib.sh"

sf_stack

http GET /login
is "$STATUS" 200 "GET /login is 200"
like "$(header Content-Security-Policy)" "default-src 'self'" "pages carry the CSP"
like "$BODY" '<link rel="stylesheet" href="/static/style.css">' "the layout links the stylesheet"
like "$BODY" '<script src="/static/app.js" defer></script>' "and app.js, deferred"
unlike "$BODY" '<script>|<style| style=| on[a-z]+=' "no inline script, style or handlers"
login_page=$BODY

# Every /static/ reference of the page is served, with the type the browser needs.
refs=$(printf '%s' "$login_page" | grep -oE '"/static/[^"]+"' | tr -d '"' | sort -u)
n=0
for ref in $refs; do
	n=$((n + 1))
	http GET "$ref"
	is "$STATUS" 200 "$ref is served"
	case $ref in
	*.css) want='^text/css' ;;
	*.js) want='^(text|application)/javascript' ;;
	*.svg) want='^image/svg\+xml' ;;
	*) want='.' ;;
	esac
	like "$(header Content-Type)" "$want" "$ref has content type $want"
	ok "$ref is the file in the repository" cmp -s "$T/body" "$SF_ROOT$ref"
done
ok "the login page links at least 3 static files ($n)" test "$n" -ge 3

# The stylesheet asks for nothing outside 'self' (the CSP would block it).
http GET /static/style.css
unlike "$BODY" '@import|url\((["'"'"']?)(https?:)?//' "style.css loads no external resources"
like "$BODY" 'prefers-color-scheme: dark' "style.css has a dark scheme"
http GET /static/app.js
unlike "$BODY" 'https?://' "app.js talks to no other origin"

# The error page is the template, not a bare string.
http GET /no/such/page
is "$STATUS" 404 "unknown page is 404"
like "$BODY" 'class="error-page' "404 renders templates/error.html"
like "$BODY" '<p class="error-status">404</p>' "with the status"
like "$BODY" '<title>[^<]+ · storefleet</title>' "and the layout's title"

done_testing
