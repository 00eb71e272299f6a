/* app.js - progressive enhancement only: every page works without it (no dependencies). */
"use strict";

/*
 * (a) <form data-confirm="Delete this store?"> asks before submitting;
 *     a submit button's own data-confirm wins over the form's.
 * (b) <div data-poll="/api/v1/stores/7" data-poll-interval="3000"
 *          data-poll-status="provisioning"> polls the JSON and reloads the
 *     page when the store's status differs from data-poll-status (or from
 *     the first answer).  Without JS the page's own (slower) <meta
 *     http-equiv="refresh"> keeps it live; removing that element would not
 *     cancel it, so pages pick a longer refresh than the poll interval.
 */
(function () {
	document.addEventListener("submit", function (ev) {
		var form = ev.target;
		var btn = ev.submitter;
		var msg = (btn && btn.getAttribute("data-confirm")) || form.getAttribute("data-confirm");

		if (msg && !window.confirm(msg))
			ev.preventDefault();
	});

	function statusOf(json) {
		if (!json || typeof json !== "object")
			return undefined;
		if (json.store && typeof json.store === "object")
			return json.store.status;
		return json.status;
	}

	function poll(el) {
		var url = el.getAttribute("data-poll");
		var every = parseInt(el.getAttribute("data-poll-interval"), 10) || 3000;
		var known = el.getAttribute("data-poll-status");
		if (every < 1000)
			every = 1000;
		function tick() {
			if (document.hidden) {
				window.setTimeout(tick, every);
				return;
			}
			fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
				.then(function (r) { return r.ok ? r.json() : null; })
				.then(function (json) {
					var s = statusOf(json);

					if (s === undefined)
						return;
					if (known === null || known === "")
						known = s;
					else if (s !== known)
						window.location.reload();
				})
				.catch(function () { /* offline for a moment: try again next tick */ })
				.then(function () { window.setTimeout(tick, every); });
		}
		window.setTimeout(tick, every);
	}

	document.querySelectorAll("[data-poll]").forEach(poll);
})();
