-- bench-stores.lua - wrk script for tools/bench-stores.sh: a Bearer token or a session cookie, one result line.
local token = os.getenv("BENCH_TOKEN")
local cookie = os.getenv("BENCH_COOKIE")
if token and token ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. token
end
if cookie and cookie ~= "" then
	wrk.headers["Cookie"] = cookie
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("BENCH %.1f %.3f %.3f %d %d\n",
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		e.connect + e.read + e.write + e.timeout + e.status, summary.requests))
end
