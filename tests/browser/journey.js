// journey.js - the main user journey in a real browser (Debian's chromium, driven by playwright-core), printing TAP lines.
//
// Run by tests/t0800-browser.sh against a stack it started.  Everything goes
// through the UI a person uses: links, form fields, buttons, the confirm
// dialog; the only addresses typed are the start page and, once deleted, the
// store's own URL (to see that it is gone).  Each step prints "ok - NAME" or
// "not ok - NAME" (the shell test numbers them) and "# ..." diagnostics; the
// first failed step saves the page's screenshot and HTML into SF_OUT and
// ends the journey, since every later step stands on the earlier ones.
//
// Environment:
//   SF_BASE         the app's origin (nginx), e.g. http://127.0.0.1:PORT
//   SF_INGRESS      the simulated cluster's ingress (http://127.0.0.1:PORT2): the browser
//                   resolves *.nip.io there, so the store's links can be followed
//   SF_OUT          where screenshots, failure pages and journey.json go (the test's temp dir)
//   SF_SCREENSHOTS  a folder (relative to SF_ROOT) that also gets the two screenshots, e.g. docs
//   SF_DEADLINE     seconds a wait for a status may take (default 90: the sanitizer build is slow)
//   SF_CHROMIUM     the browser binary (default /usr/bin/chromium)
//
// Files in SF_OUT the shell test reads or writes while the journey runs: dns-wanted.json
// (the DNS records the store page asked for, written by the journey) and dns-published
// (written by the test once its DNS server answers with them).
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const base = process.env.SF_BASE;
const ingress = new URL(process.env.SF_INGRESS);
const out = process.env.SF_OUT;
const root = process.env.SF_ROOT || path.join(__dirname, '..', '..');
const shotDirs = [out];
if (process.env.SF_SCREENSHOTS)
	shotDirs.push(path.resolve(root, process.env.SF_SCREENSHOTS));
const deadlineSecs = Number(process.env.SF_DEADLINE || 90);

const email = 'browser@example.com';
const password = 'correct horse battery';
const shopName = 'Corner Bakery';
// The custom domain the journey adds (the test's dnsmasq answers for example.com).
const customDomain = 'shop.example.com';
const xssName = '<img src=x onerror=alert(1)>';
const newPassword = 'a new horse battery staple';
// Where the test's SMTP server (tools/smtp-sink.py) keeps each message it accepts.
const mailDir = process.env.SF_MAILDIR;

// What the journey learnt, for the shell test's own checks (cluster Secret, database).
const facts = {};
// Everything the browser complained about; checked at the end of the journey.
const consoleErrors = [];
const cspViolations = [];
const strayDialogs = [];
// The one dialog the journey expects: the delete button's confirm().
let expectConfirm = null;

let failed = 0;
let artifacts = 0;

function diag(text) {
	for (const line of String(text).split('\n'))
		console.log('# ' + line);
}

function pass(name) {
	console.log('ok - ' + name);
}

function secs(t0) {
	return ((Date.now() - t0) / 1000).toFixed(1);
}

class StepFailed extends Error {}

// Save what the page looked like when a step failed: screenshot, HTML, URL.
async function saveFailure(page) {
	const n = ++artifacts;
	const png = path.join(out, `failure-${n}.png`);
	const html = path.join(out, `failure-${n}.html`);

	diag(`page URL: ${page.url()}`);
	try {
		await page.screenshot({ path: png, fullPage: true, timeout: 10000 });
		diag(`screenshot: ${png}`);
	} catch (err) {
		diag(`no screenshot: ${err.message}`);
	}
	try {
		fs.writeFileSync(html, await page.content());
		diag(`page HTML: ${html}`);
	} catch (err) {
		diag(`no page HTML: ${err.message}`);
	}
}

// One step: NAME may be a function of the step's result (for measured times).
async function step(page, name, fn) {
	let res;

	try {
		res = await fn();
	} catch (err) {
		failed++;
		const label = typeof name === 'function' ? name(undefined) : name;
		console.log('not ok - ' + label);
		diag(err instanceof StepFailed ? err.message : err.stack || String(err));
		await saveFailure(page);
		throw new StepFailed('journey stopped');
	}
	pass(typeof name === 'function' ? name(res) : name);
	return res;
}

function check(cond, msg) {
	if (!cond)
		throw new StepFailed(msg);
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// Text of SELECTOR, or null while the page is between two loads (it refreshes itself).
async function textOf(page, selector) {
	try {
		const t = await page.locator(selector).first().textContent({ timeout: 1000 });
		return t === null ? null : t.trim();
	} catch (err) {
		return null;
	}
}

// The store page's badge and how many steps are done, read from one fully parsed
// document; null while the page is between two loads.
async function storeState(page) {
	try {
		return await page.evaluate(() => {
			const badge = document.querySelector('.page-header .badge');
			if (document.readyState !== 'complete' || !badge)
				return null;
			return {
				status: badge.textContent.trim(),
				done: document.querySelectorAll('.steps li.done').length,
			};
		});
	} catch (err) {
		return null;	// the document went away under us: the next one is loading
	}
}

// Wait, without reloading anything ourselves, until the store page's badge says WANT.
// Returns the states seen on the way ("status (N steps done)"), whether N ever went back,
// and how often the page loaded itself.
async function watchStatus(page, want) {
	const t0 = Date.now();
	const seen = [];
	let loads = 0;
	let mostDone = 0;
	let wentBack = false;
	const onLoad = (frame) => {
		if (frame === page.mainFrame())
			loads++;
	};

	page.on('framenavigated', onLoad);
	try {
		for (;;) {
			const st = await storeState(page);
			if (st) {
				const label = `${st.status} (${st.done} steps done)`;
				// A tick once shown stays: the page reads stores.step as the step
				// reconcile completed last, as reconcile writes it.
				if (st.done < mostDone)
					wentBack = true;
				mostDone = Math.max(mostDone, st.done);
				if (seen[seen.length - 1] !== label)
					seen.push(label);
				if (st.status === want)
					return { seen, loads, wentBack, t: secs(t0) };
				if (st.status === 'failed')
					throw new StepFailed(`the store failed: ${await textOf(page, '.flash-error')}`);
			}
			if (Date.now() - t0 > deadlineSecs * 1000)
				throw new StepFailed(`no '${want}' after ${deadlineSecs} s; seen: ${seen.join(' -> ')}`);
			await sleep(100);
		}
	} finally {
		page.off('framenavigated', onLoad);
	}
}

// A click that leads to a new page: wait for that page's load.
async function clickAndLoad(page, locator) {
	await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
}

async function screenshot(page, file) {
	const buf = await page.screenshot({ fullPage: false });
	for (const dir of shotDirs) {
		fs.mkdirSync(dir, { recursive: true });
		fs.writeFileSync(path.join(dir, file), buf);
	}
}

async function noImgX(page) {
	return page.evaluate(() => document.querySelectorAll('img[src="x"]').length === 0);
}

// A browser window (its own context: cookies, JavaScript on or off) at the fixed
// viewport, reporting console errors, uncaught exceptions, CSP violations and dialogs.
async function openWindow(browser, javaScriptEnabled) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 800 },
		colorScheme: 'light', javaScriptEnabled });
	context.setDefaultTimeout(30000);
	context.setDefaultNavigationTimeout(60000);
	// CSP violations as the page sees them (the console reports them too); init scripts
	// run even where the page's own JavaScript is off.
	await context.exposeBinding('__sfCsp', ({ page: p }, what) => cspViolations.push(`${p.url()}: ${what}`));
	await context.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (ev) => {
			window.__sfCsp(`${ev.violatedDirective} blocked ${ev.blockedURI || 'inline'} (${ev.sourceFile}:${ev.lineNumber})`);
		});
	});
	const page = await context.newPage();
	// Only storefleet's own pages count: the store's pages (the simulator's ingress)
	// are not ours, and the deleted store's 404 is expected, as is the 400 of a
	// reset link used a second time.
	const ours = () => page.url().startsWith(base + '/');
	const expected400 = (msg) => new URL(page.url()).pathname === '/password/reset' &&
		/status of 400/.test(msg.text());
	page.on('console', (msg) => {
		if (msg.type() === 'error' && ours() && !expected400(msg))
			consoleErrors.push(`${page.url()}: ${msg.text()}`);
	});
	page.on('pageerror', (err) => {
		if (ours())
			consoleErrors.push(`${page.url()}: uncaught ${err.message}`);
	});
	page.on('dialog', async (d) => {
		if (expectConfirm && d.type() === 'confirm' && expectConfirm.got === null) {
			expectConfirm.got = d.message();
			await d.accept();
			return;
		}
		strayDialogs.push(`${d.type()}: ${d.message()}`);
		await d.dismiss();
	});
	return page;
}

async function signIn(page, pw = password) {
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(pw);
	await clickAndLoad(page, page.getByRole('button', { name: 'Sign in' }));
	check(new URL(page.url()).pathname === '/stores', `sign in landed on ${page.url()}`);
	check((await textOf(page, '.user-email')) === email, 'the top bar does not show the email');
}

async function journey(browser, page) {
	await step(page, 'the start page leads to the sign-in form', async () => {
		await page.goto(base + '/');
		check(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);
		check(await page.getByRole('heading', { name: 'Sign in' }).isVisible(), 'no Sign in heading');
	});

	// Registering answers alike whether the address was free or taken (t0210), so it
	// signs nobody in: it leads back to the sign-in form with a notice.
	const registered = await step(page, 'register through the form: back on the sign-in page, with a notice', async () => {
		await clickAndLoad(page, page.getByRole('link', { name: 'Create an account' }));
		await page.getByLabel('Email').fill(email);
		await page.getByLabel('Password').fill(password);
		await clickAndLoad(page, page.getByRole('button', { name: 'Create account' }));
		check(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);
		const notice = await textOf(page, '.flash[role="status"]');
		check(notice && notice.startsWith('If this email address had no account yet'), `notice ${JSON.stringify(notice)}`);
		check(!(await page.locator('.user-email').count()), 'registering signed the browser in');
		return page.locator('main').innerHTML();
	});

	await step(page, 'the same address again, another password: the very same page', async () => {
		await clickAndLoad(page, page.getByRole('link', { name: 'Create an account' }));
		await page.getByLabel('Email').fill(email);
		await page.getByLabel('Password').fill('not the password 42');
		await clickAndLoad(page, page.getByRole('button', { name: 'Create account' }));
		check(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);
		check((await page.locator('main').innerHTML()) === registered, 'the page differs from the first registration\'s');
		check(!(await page.locator('.user-email').count()), 'registering signed the browser in');
	});

	await step(page, 'sign in with the first password: the stores page', async () => {
		await signIn(page);
	});

	await step(page, 'log out, then sign in through the form', async () => {
		await clickAndLoad(page, page.getByRole('button', { name: 'Log out' }));
		check(new URL(page.url()).pathname === '/login', `log out landed on ${page.url()}`);
		check(!(await page.locator('.user-email').count()), 'still signed in after log out');
		await signIn(page);
	});

	// A second window with JavaScript off: the store page must keep itself current
	// without app.js (its meta refresh), while the first window has app.js's poll too.
	const plain = await openWindow(browser, false);
	await step(plain, 'a second window, JavaScript off, signs in too', async () => {
		await plain.goto(base + '/');
		await signIn(plain);
	});

	const id = await step(page, 'a WooCommerce store requested with the form opens its page', async () => {
		await page.getByRole('link', { name: 'New store' }).click();	// an anchor on the same page
		await page.getByLabel('Display name').fill(shopName);
		await page.getByLabel('Engine').selectOption('woocommerce');
		await clickAndLoad(page, page.getByRole('button', { name: 'Create store' }));
		const m = new URL(page.url()).pathname.match(/^\/stores\/([a-z][a-z0-9]{7})$/);
		check(m, `landed on ${page.url()}`);
		check((await textOf(page, 'h1')) === shopName, 'the page is not titled with the store name');
		return m[1];
	});
	facts.store_id = id;

	await step(plain, 'the JavaScript-less window opens the new store from its list', async () => {
		await clickAndLoad(plain, plain.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stores' }));
		await clickAndLoad(plain, plain.locator(`a[href="/stores/${id}"]`));
		check((await textOf(plain, 'h1')) === shopName, `heading ${await textOf(plain, 'h1')}`);
	});

	// Both windows wait at once; neither is reloaded by the journey.
	const [prov, provPlain] = await Promise.all([watchStatus(page, 'ready').catch((e) => e),
		watchStatus(plain, 'ready').catch((e) => e)]);
	const reached = (w, r) => {
		if (r instanceof Error)
			throw r;
		check(!r.seen[0].startsWith('ready'), `the store was ready before the ${w} showed it first`);
		check(r.loads >= 1, `the status changed without the ${w}'s page loading again`);
		check(!r.wentBack, `a done step lost its tick in the ${w}: ${r.seen.join(' -> ')}`);
		return r;
	};
	await step(page, (r) => r ? `the store page refreshes itself as the steps advance: ready in ${r.t} s (${r.loads} loads)` : 'the store page refreshes itself to ready',
		async () => reached('window', prov));
	diag(`seen: ${prov.seen.join(' -> ')}`);
	await step(plain, (r) => r ? `... and so it does with JavaScript off: ready in ${r.t} s (${r.loads} loads)` : '... and so it does with JavaScript off',
		async () => reached('JavaScript-less window', provPlain));
	diag(`seen without JavaScript: ${provPlain.seen.join(' -> ')}`);
	await plain.context().close();

	await step(page, 'at ready every provisioning step is done, with its time', async () => {
		const steps = page.locator('.steps li');
		const n = await steps.count();
		check(n >= 5, `only ${n} steps listed`);
		const done = await page.locator('.steps li.done').count();
		check(done === n, `${done} of ${n} steps done`);
		check(await page.locator('.steps li.done time').count() === n, 'a done step has no time');
		check(!(await page.locator('meta[http-equiv="refresh"]').count()), 'a ready page still refreshes itself');
	});

	await screenshot(page, 'screenshot-store.png');

	const storeUrl = `http://store-${id}.127.0.0.1.nip.io/`;
	await step(page, 'the store URL link opens the store (through the simulated ingress)', async () => {
		const link = page.locator('dt:text-is("Store URL") + dd a');
		check((await link.getAttribute('href')) === storeUrl, `href ${await link.getAttribute('href')}`);
		check((await link.textContent()).trim() === storeUrl, 'the link text is not the URL');
		const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
		check(resp && resp.status() === 200, `status ${resp && resp.status()}`);
		check((await textOf(page, 'h1')) === `Store store-${id}`, `the page says ${await textOf(page, 'h1')}`);
		await page.goBack({ waitUntil: 'load' });
		check((await textOf(page, 'h1')) === shopName, 'back did not return to the store page');
	});

	await step(page, 'the admin URL link opens the store admin', async () => {
		const link = page.locator('dt:text-is("Admin URL") + dd a');
		const href = await link.getAttribute('href');
		check(href && href.startsWith(storeUrl) && href.length > storeUrl.length, `href ${href}`);
		const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
		check(resp && resp.status() === 200, `status ${resp && resp.status()}`);
		check(new URL(page.url()).host === new URL(storeUrl).host, `at ${page.url()}`);
		await page.goBack({ waitUntil: 'load' });
	});

	await step(page, 'Reveal shows the admin password the cluster holds, once asked', async () => {
		check(!(await page.locator('code.secret-value').count()), 'the password shows before Reveal');
		await clickAndLoad(page, page.getByRole('button', { name: 'Reveal' }));
		const pw = await textOf(page, 'code.secret-value');
		check(pw && /^[A-Za-z0-9]{32}$/.test(pw), `revealed ${JSON.stringify(pw)}`);
		check(pw === clusterPassword(id), 'not the password in the store\'s Secret');
	});

	// A custom domain, as its owner adds one: the form, the DNS records the page asks for,
	// then (once the test's DNS server on loopback has them) verified by reconcile's real
	// look-ups and served by the store's Ingress.  The journey cannot create DNS records:
	// it writes what the page asked for to dns-wanted.json, and the shell test restarts its
	// dnsmasq with exactly those records, then writes dns-published.
	const records = await step(page, `"Add domain" with the form: ${customDomain} listed pending, with the TXT and CNAME records to create`, async () => {
		await page.getByLabel('Domain').fill(customDomain);
		await clickAndLoad(page, page.getByRole('button', { name: 'Add domain' }));
		check(new URL(page.url()).pathname === `/stores/${id}`, `landed on ${page.url()}`);
		const row = page.locator(`tr[id="domain-${customDomain}"]`);
		check(await row.count() === 1, 'no row for the domain');
		check((await row.locator('.badge').first().textContent()).trim() === 'pending', 'the domain is not pending');
		const codes = await row.locator('td[data-label="DNS records to create"] code').allTextContents();
		check(codes.length === 4, `the records cell has ${codes.length} values: ${codes.join(' | ')}`);
		const r = { txt_name: codes[0].trim(), txt_value: codes[1].trim(), domain: codes[2].trim(), cname_target: codes[3].trim() };
		check(r.txt_name === `_storefleet-challenge.${customDomain}`, `TXT name ${r.txt_name}`);
		check(/^[0-9a-f]{32}$/.test(r.txt_value), `TXT value ${r.txt_value}`);
		check(r.domain === customDomain, `CNAME name ${r.domain}`);
		check(r.cname_target === new URL(storeUrl).hostname, `CNAME target ${r.cname_target}, not the store's host`);
		fs.writeFileSync(path.join(out, 'dns-wanted.json'), JSON.stringify(r));
		return r;
	});
	facts.txt_value = records.txt_value;

	await step(page, (r) => r ? `with the records in DNS the page shows it verified in ${r.t} s` : 'with the records in DNS the page shows it verified', async () => {
		const t0 = Date.now();
		const published = path.join(out, 'dns-published');
		const row = page.locator(`tr[id="domain-${customDomain}"]`);
		for (;;) {
			if (fs.existsSync(published)) {
				await page.reload({ waitUntil: 'load' });
				const st = (await row.locator('.badge').first().textContent()).trim();
				if (st === 'verified')
					return { t: secs(t0) };
				check(st === 'pending', `the domain went ${st}: ${await textOf(page, `[id="domain-check-${customDomain}"]`)}`);
			}
			check(Date.now() - t0 < deadlineSecs * 1000,
				`not verified after ${deadlineSecs} s: ${await textOf(page, `[id="domain-check-${customDomain}"]`)}`);
			await sleep(250);
		}
	});

	await step(page, `the store answers on http://${customDomain}/ (its Ingress, through the simulated ingress)`, async () => {
		const t0 = Date.now();
		for (;;) {
			// reconcile puts the domain on the store's Ingress in the pass after verifying it
			const resp = await page.goto(`http://${customDomain}/`);
			if (resp && resp.status() === 200) {
				check((await textOf(page, 'h1')) === `Store store-${id}`, `the page says ${await textOf(page, 'h1')}`);
				break;
			}
			check(Date.now() - t0 < deadlineSecs * 1000, `status ${resp && resp.status()} after ${deadlineSecs} s`);
			await sleep(250);
		}
		await page.goto(`${base}/stores/${id}`, { waitUntil: 'load' });
	});

	await step(page, 'the dashboard lists the store as ready', async () => {
		await clickAndLoad(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stores' }));
		check(new URL(page.url()).pathname === '/stores', `at ${page.url()}`);
		const row = page.locator('tbody tr', { has: page.locator(`a[href="/stores/${id}"]`) });
		check(await row.count() === 1, 'no row for the store');
		check((await row.locator('.badge').textContent()).trim() === 'ready', 'the row is not ready');
		check((await row.locator('td[data-label="Address"]').textContent()).trim() === storeUrl, 'the row has not the URL');
	});
	await screenshot(page, 'screenshot-dashboard.png');

	// The probe: markup as a store name.  The page must show it as text; an <img>
	// element made from it would be the injection (CSP would still stop its onerror:
	// that shows as a CSP violation, which the end of the journey checks too).
	const xid = await step(page, 'a store named like markup is created through the form', async () => {
		await page.getByLabel('Display name').fill(xssName);
		await page.getByLabel('Engine').selectOption('medusa');
		const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }),
			page.getByRole('button', { name: 'Create store' }).click()]);
		const m = new URL(page.url()).pathname.match(/^\/stores\/([a-z][a-z0-9]{7})$/);
		check(m, `landed on ${page.url()}: ${await textOf(page, '.flash-error, .field-error')}`);
		// what the server sent, before the browser parsed it
		const html = await resp.text();
		check(html.includes('<h1>&lt;img src=x onerror=alert(1)&gt;</h1>'), 'the heading is not escaped in the HTML');
		return m[1];
	});
	facts.xss_id = xid;

	await step(page, 'its page shows the name as text: no <img> element, title and heading literal', async () => {
		check((await textOf(page, 'h1')) === xssName, `heading ${await textOf(page, 'h1')}`);
		check(await noImgX(page), 'an <img src=x> element is in the DOM');
		check((await page.title()).startsWith(xssName), `title ${await page.title()}`);
		const body = await page.evaluate(() => document.body.textContent);
		check(body.includes(xssName), 'the body text lacks the literal name');
	});

	await step(page, 'the dashboard shows the name as text too', async () => {
		await clickAndLoad(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Stores' }));
		const link = page.locator(`a[href="/stores/${xid}"]`);
		check((await link.textContent()) === xssName, `link text ${await link.textContent()}`);
		check(await noImgX(page), 'an <img src=x> element is in the DOM');
	});

	await step(page, 'no dialog opened on the way', async () => {
		await page.waitForLoadState('networkidle');	// every image tried, every handler run
		check(!strayDialogs.length, `dialogs: ${JSON.stringify(strayDialogs)}`);
	});

	await step(page, 'Delete asks for confirmation and starts deleting', async () => {
		await clickAndLoad(page, page.locator(`a[href="/stores/${id}"]`));
		await page.getByLabel('Yes, delete this store and all its data').check();
		expectConfirm = { want: `Delete the store ${shopName} and all its data?`, got: null };
		await clickAndLoad(page, page.getByRole('button', { name: 'Delete' }));
		check(expectConfirm.got === expectConfirm.want, `confirm said ${JSON.stringify(expectConfirm.got)}`);
		expectConfirm = null;
		const status = await textOf(page, '.page-header .badge');
		check(status === 'deleting' || status === 'deleted', `status ${status}`);
	});

	await step(page, (r) => r ? `the page refreshes itself to deleted in ${r.t} s` : 'the page refreshes itself to deleted', async () => {
		const r = await watchStatus(page, 'deleted');
		check(!(await page.getByRole('button', { name: 'Delete' }).count()), 'a deleted store can still be deleted');
		return r;
	});

	await step(page, 'the store URL no longer answers with the store', async () => {
		const resp = await page.goto(storeUrl);
		check(resp.status() === 404, `status ${resp.status()}`);
	});

	// A forgotten password, through the SMTP server storefleet-mail sends to.
	await step(page, 'log out, "Forgot password?", the address: back on sign-in with a notice', async () => {
		await page.goto(base + '/stores');
		await clickAndLoad(page, page.getByRole('button', { name: 'Log out' }));
		await clickAndLoad(page, page.getByRole('link', { name: 'Forgot password?' }));
		await page.getByLabel('Email').fill(email);
		await clickAndLoad(page, page.getByRole('button', { name: 'Send the link' }));
		check(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);
		const notice = await textOf(page, '.flash[role="status"]');
		check(notice && notice.startsWith('If an account uses this email address'), `notice ${JSON.stringify(notice)}`);
	});

	const link = await step(page, (r) => r ? `the reset mail reaches the SMTP server in ${r.t} s` : 'the reset mail reaches the SMTP server', async () => {
		const t0 = Date.now();
		while (Date.now() - t0 < 30000) {
			const files = fs.existsSync(mailDir) ? fs.readdirSync(mailDir).filter((f) => f.endsWith('.eml')) : [];
			for (const f of files) {
				const m = fs.readFileSync(path.join(mailDir, f), 'latin1');
				const part = /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n([A-Za-z0-9+\/=\r\n]+)/.exec(m);
				if (!m.includes(`To: <${email}>`) || !part)
					continue;
				const text = Buffer.from(part[1].replace(/\r\n/g, ''), 'base64').toString('utf8');
				// the registration's own mails (address link, the second try's note) come first
				const url = /(https?:\/\/\S+\/password\/reset\?token=[A-Za-z0-9_-]+)/.exec(text);
				if (url)
					return { url: url[1], t: secs(t0) };
			}
			await sleep(100);
		}
		throw new StepFailed('no mail within 30 s');
	});

	await step(page, 'the link opens the reset page; a new password signs everybody out', async () => {
		await page.goto(link.url);
		check(await page.getByRole('heading', { name: 'Choose a new password' }).isVisible(), 'no reset heading');
		await page.getByLabel('New password').fill(newPassword);
		await clickAndLoad(page, page.getByRole('button', { name: 'Save the new password' }));
		check(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);
		const notice = await textOf(page, '.flash[role="status"]');
		check(notice && notice.startsWith('Your password is changed'), `notice ${JSON.stringify(notice)}`);
	});

	await step(page, 'the link a second time: not valid any more', async () => {
		const resp = await page.goto(link.url);
		check(resp.status() === 400, `status ${resp.status()}`);
		check(!(await page.getByLabel('New password').count()), 'the form is still offered');
	});

	await step(page, 'sign in with the new password: the stores page', async () => {
		await page.goto(base + '/login');
		await signIn(page, newPassword);
	});
}

// The admin password reconcile keeps in the store's Secret (KUBECONFIG: the simulator).
function clusterPassword(id) {
	const b64 = execFileSync('kubectl', ['get', 'secret', 'storefleet-credentials', '-n', `store-${id}`,
		'-o', 'jsonpath={.data.admin_password}'], { encoding: 'utf8', timeout: 30000 });
	return Buffer.from(b64, 'base64').toString();
}

// The browser processes this script started (playwright's Browser does not say): its
// children, by PID, for the shell test to check they are gone - or to stop them.
function childPids() {
	const pids = [];

	for (const d of fs.readdirSync('/proc')) {
		if (!/^[0-9]+$/.test(d))
			continue;
		try {
			const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
			const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
			if (ppid === process.pid)
				pids.push(Number(d));
		} catch (err) {
			// gone meanwhile
		}
	}
	return pids;
}

async function main() {
	let browser = null;
	let page = null;

	// The shell test's time limit (timeout(1) sends TERM): say so, keep the evidence,
	// close the browser, go.
	process.on('SIGTERM', async () => {
		console.log('not ok - the journey ends within its time limit');
		if (page)
			await saveFailure(page);
		fs.writeFileSync(path.join(out, 'journey.json'), JSON.stringify(facts));
		if (browser)
			await browser.close().catch(() => {});
		process.exit(1);
	});
	try {
		browser = await chromium.launch({
			handleSIGTERM: false,
			executablePath: process.env.SF_CHROMIUM || '/usr/bin/chromium',
			args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
				'--disable-background-networking',
				// the stores' *.nip.io names and the custom domain lead to the simulator's ingress, nowhere else
				`--host-resolver-rules=MAP *.nip.io ${ingress.hostname}:${ingress.port}, MAP ${customDomain} ${ingress.hostname}:${ingress.port}, EXCLUDE 127.0.0.1`],
			timeout: 60000,
		});
		fs.writeFileSync(path.join(out, 'chromium.pid'), childPids().join(' '));
		page = await openWindow(browser, true);
		await journey(browser, page);

		await step(page, 'no console errors and no uncaught exceptions', async () => {
			check(!consoleErrors.length, consoleErrors.join('\n'));
		});
		await step(page, 'no Content-Security-Policy violations', async () => {
			check(!cspViolations.length, cspViolations.join('\n'));
		});
		await step(page, 'no dialog but the delete confirmation', async () => {
			check(!strayDialogs.length, strayDialogs.join('\n'));
		});
	} catch (err) {
		if (!(err instanceof StepFailed)) {
			failed++;
			console.log('not ok - the browser ran the journey');
			diag(err.stack || String(err));
			if (page)
				await saveFailure(page);
		}
		if (consoleErrors.length)
			diag('console errors so far:\n' + consoleErrors.join('\n'));
		if (cspViolations.length)
			diag('CSP violations so far:\n' + cspViolations.join('\n'));
	} finally {
		fs.writeFileSync(path.join(out, 'journey.json'), JSON.stringify(facts));
		if (browser)
			await browser.close().catch((err) => diag(`browser.close: ${err.message}`));
	}
	process.exitCode = failed ? 1 : 0;
}

main();
