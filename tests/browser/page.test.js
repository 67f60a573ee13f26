// Browser test of roomcast's bundled page (www/).
//
// Starts ROOMCAST_SERVER_BIN on free loopback ports, drives two pages of
// Debian's chromium (playwright-core, no bundled browser) through joining a
// room, broadcasting, a raw frame that is not JSON, the live status panel and
// a server restart (reconnect + rejoin), takes screenshots, and fails on any
// console error or warning. Everything is torn down within a bounded time.
//
//   ROOMCAST_SERVER_BIN=build/roomcast-server node --test tests/browser/
//
// Environment:
//   ROOMCAST_SERVER_BIN  path of roomcast-server (required unless
//                        build/roomcast-server exists in the repository)
//   SCREENSHOT_DIR       where screenshots go (default: a new tmp dir)
//   CHROMIUM_BIN         browser to drive (default /usr/bin/chromium)
//   ROOMCAST_CONFIG      optional --config DIR for the server (default: the
//                        server's own default, the repository root)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const WATCHDOG_MS = 100000;       // the whole file, hard limit
const READY_MS = 10000;           // server start
const STEP_MS = 8000;             // one UI expectation

const SERVER_BIN = process.env.ROOMCAST_SERVER_BIN
	|| [path.join(REPO, 'build', 'roomcast-server')].find((p) => fs.existsSync(p));
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SHOT_DIR = process.env.SCREENSHOT_DIR
	|| fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-shots-'));

let server = null;                // { proc, port, statusPort, log }
let browser = null;
const pages = {};
const problems = [];              // console errors/warnings, page errors
let outage = false;               // true while the server is down on purpose

/* ---- helpers ----------------------------------------------------------- */

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

function canConnect(port) {
	return new Promise((resolve) => {
		const sock = net.connect({ host: '127.0.0.1', port });
		const done = (ok) => { sock.destroy(); resolve(ok); };
		sock.setTimeout(500, () => done(false));
		sock.once('connect', () => done(true));
		sock.once('error', () => done(false));
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer(port, statusPort) {
	const log = [];
	// A small send ring so that a burst makes the server drop (and report)
	// messages; presence events so that member counts move; history for
	// recovery and the History button.
	const args = ['--port', String(port), '--status-port', String(statusPort),
		'--option', 'send-ring-size=8', '--option', 'presence-events=on',
		'--option', 'history-size=50'];
	if (process.env.ROOMCAST_CONFIG)
		args.unshift('--config', process.env.ROOMCAST_CONFIG);
	const proc = spawn(SERVER_BIN, args, {
		cwd: REPO,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	proc.stdout.on('data', (d) => log.push(String(d)));
	proc.stderr.on('data', (d) => log.push(String(d)));
	let exited = null;
	proc.once('exit', (code, sig) => { exited = { code, sig }; });
	const srv = { proc, port, statusPort, log, exited: () => exited };

	const deadline = Date.now() + READY_MS;
	while (Date.now() < deadline) {
		if (exited)
			throw new Error(`roomcast-server exited early (${JSON.stringify(exited)}):\n${log.join('')}`);
		if (await canConnect(port) && (statusPort === 0 || await canConnect(statusPort)))
			return srv;
		await sleep(100);
	}
	proc.kill('SIGKILL');
	throw new Error(`roomcast-server did not accept connections within ${READY_MS} ms:\n${log.join('')}`);
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
async function stopServer(srv, graceMs = 6000) {
	if (!srv) return null;
	if (srv.exited()) return srv.exited();
	const exit = new Promise((r) => srv.proc.once('exit', (code, sig) => r({ code, sig })));
	srv.proc.kill('SIGTERM');
	const t = setTimeout(() => srv.proc.kill('SIGKILL'), graceMs);
	const res = await exit;
	clearTimeout(t);
	return res;
}

async function withTimeout(promise, ms, what) {
	let t;
	const timeout = new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms); });
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		clearTimeout(t);
	}
}

async function cleanup() {
	const b = browser;
	browser = null;
	if (b) await withTimeout(b.close(), 5000, 'browser close').catch(() => {});
	const s = server;
	server = null;
	if (s) await stopServer(s, 3000).catch(() => {});
}

// Last resort: whatever hangs, the file ends within WATCHDOG_MS.
const watchdog = setTimeout(async () => {
	console.error(`# watchdog: still running after ${WATCHDOG_MS} ms, killing server and browser`);
	if (server) server.proc.kill('SIGKILL');
	await withTimeout(cleanup(), 2000, 'cleanup').catch(() => {});
	process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

async function openPage(name, viewport = { width: 1280, height: 860 }) {
	const context = await browser.newContext({
		viewport, colorScheme: 'light', permissions: ['clipboard-read', 'clipboard-write'],
	});
	const page = await context.newPage();
	page.setDefaultTimeout(STEP_MS);
	page.on('console', (msg) => {
		const type = msg.type();
		if (type !== 'error' && type !== 'warning') return;
		const text = msg.text();
		// While the server is down on purpose, the browser itself reports
		// the refused WebSocket and /stats connections; nothing else passes.
		if (outage && /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(text)) return;
		problems.push(`${name}: console ${type}: ${text} (${msg.location().url || '?'})`);
	});
	page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
	page.on('requestfailed', (req) => {
		if (outage) return;
		problems.push(`${name}: request failed: ${req.url()} ${req.failure()?.errorText}`);
	});
	page.on('response', (res) => {
		if (res.status() >= 400) problems.push(`${name}: HTTP ${res.status()} for ${res.url()}`);
	});
	await page.goto(`http://127.0.0.1:${server.port}/`, { waitUntil: 'load' });
	await page.locator('#conn-state[data-state="open"]').waitFor();
	pages[name] = page;
	return page;
}

async function join(page, user, room) {
	await page.locator('#user-id').fill(user);
	await page.locator('#room-id').fill(room);
	await page.locator('#room-id').press('Enter');
	await page.locator(`.tab[data-room="${room}"][data-state="joined"]`).waitFor();
}

async function send(page, text, mode = 'auto') {
	await page.locator(`label[for="mode-${mode}"]`).click();
	await page.locator('#composer-input').fill(text);
	await page.locator('#composer-input').press('Enter');
}

const pane = (page, room) => page.locator(`.pane[data-room="${room}"]`);

/** Skips a test whose pages the first test did not get to open. */
function needPages(t) {
	if (pages.alice && pages.bob) return true;
	t.skip('the first test did not open the pages');
	return false;
}

function assertNoProblems() {
	assert.deepEqual(problems, [], `console errors, warnings or failed requests:\n${problems.join('\n')}`);
}

/* ---- setup ------------------------------------------------------------- */

before(async () => {
	assert.ok(SERVER_BIN, 'set ROOMCAST_SERVER_BIN to the path of roomcast-server');
	assert.ok(fs.existsSync(SERVER_BIN), `ROOMCAST_SERVER_BIN ${SERVER_BIN} does not exist`);
	assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium`);
	fs.mkdirSync(SHOT_DIR, { recursive: true });
	console.log(`# screenshots: ${SHOT_DIR}`);

	const [port, statusPort] = [await freePort(), await freePort()];
	server = await startServer(port, statusPort);
	browser = await withTimeout(chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			'--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
		],
	}), 15000, 'chromium launch');
});

after(async () => {
	if (server && problems.length === 0 && server.exited())
		console.log(`# server log:\n${server.log.join('')}`);
	await cleanup();
	clearTimeout(watchdog);
});

/* ---- tests ------------------------------------------------------------- */

test('two pages join a room and see each other\'s broadcasts', async () => {
	const [a, b] = await Promise.all([openPage('alice'), openPage('bob')]);
	await a.screenshot({ path: path.join(SHOT_DIR, 'desktop-empty.png') });
	await join(a, 'alice', 'lobby');
	await join(b, 'bob', 'lobby');

	// bob's joined said 2 members; alice counts bob's presence event
	await b.locator('#room-meta', { hasText: '2 members at join' }).waitFor();
	await a.locator('#room-meta', { hasText: /\b2 members(?! at join)/ }).waitFor();
	await pane(a, 'lobby').locator('.marker-presence', { hasText: 'bob joined' }).waitFor();
	assert.match(await a.locator('#user-effective').textContent(), /alice/);

	await send(a, 'hello from alice');
	const got = pane(b, 'lobby').locator('.msg:not(.mine)', { hasText: 'hello from alice' });
	await got.waitFor();
	assert.equal(await got.locator('.sender').textContent(), 'alice');
	assert.match(await got.locator('.seq').textContent(), /^#\d+$/);
	// alice's own copy is the server's echo, with its seq (no longer pending)
	await pane(a, 'lobby').locator('.msg.mine:not(.pending)[data-seq]', { hasText: 'hello from alice' }).waitFor();

	await send(b, '{"n": 1, "tags": ["a", "b"], "ok": true}');
	const json = pane(a, 'lobby').locator('.msg:not(.mine) pre.content-json');
	await json.waitFor();
	const text = await json.textContent();
	assert.deepEqual(JSON.parse(text), { n: 1, tags: ['a', 'b'], ok: true });
	assert.ok(await json.locator('.j-key').count() >= 3, 'JSON keys are highlighted');

	// seq grows by one per broadcast in the room: no gap marker appears
	assert.equal(await pane(a, 'lobby').locator('.marker-gap').count(), 0);
	assertNoProblems();
});

test('a raw frame that is not JSON shows the server\'s bad_json error next to it', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	await send(a, 'this is { not json', 'raw');
	const item = pane(a, 'lobby').locator('.msg.raw', { hasText: 'this is { not json' });
	await item.locator('.msg-error[data-code="bad_json"]').waitFor();
	assert.match(await item.locator('.msg-error').textContent(), /bad_json/);
	// the connection stays open after the error
	assert.equal(await a.locator('#conn-state').getAttribute('data-state'), 'open');

	// a broadcast to a room one is not in: not_member, shown on that message
	await send(a, '{"type":"broadcast","room_id":"elsewhere","content":1}', 'raw');
	await pane(a, 'lobby').locator('.msg.raw .msg-error[data-code="not_member"]').waitFor();
	await a.locator('label[for="mode-auto"]').click();

	// a join error shows under the join form: bad_room
	await a.locator('#room-id').fill('no spaces allowed');
	await a.locator('#room-id').press('Enter');
	await a.locator('#join-feedback .msg-error[data-code="bad_room"]').waitFor();
	assert.equal(await a.locator('.tab[data-room="no spaces allowed"]').count(), 0);
	// another user id on the same connection: user_mismatch, in the room's pane
	await a.locator('#user-id').fill('mallory');
	await a.locator('#room-id').fill('lobby');
	await a.locator('#room-id').press('Enter');
	await pane(a, 'lobby').locator('.marker-error .msg-error[data-code="user_mismatch"]').waitFor();
	await a.locator('#user-id').fill('alice');
	assertNoProblems();
});

test('the status panel follows the server\'s counters and the ping round trip', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	await a.waitForFunction(() => Number(document.getElementById('stat-connections').textContent) >= 2,
		null, { timeout: STEP_MS });
	await a.waitForFunction(() => Number(document.getElementById('stat-received').dataset.value) >= 5,
		null, { timeout: STEP_MS });
	await a.waitForFunction(() => Number(document.getElementById('stat-rooms').textContent) >= 1,
		null, { timeout: STEP_MS });
	await a.waitForFunction(() => /^\d/.test(document.getElementById('stat-rtt').textContent),
		null, { timeout: STEP_MS });
	assert.equal(await a.locator('#stats-state').textContent(), 'live');

	// the counters move: another broadcast raises messages_received
	const before = Number(await a.locator('#stat-received').getAttribute('data-value'));
	await send(pages.bob, 'counting');
	await a.waitForFunction((n) => Number(document.getElementById('stat-received').dataset.value) > n,
		before, { timeout: STEP_MS });
	assertNoProblems();
});

test('history button and direct messages', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	const b = pages.bob;
	await a.locator('.tab[data-room="lobby"]').click();
	// history: what the server holds for the room, oldest first
	await a.locator('#history-btn').click();
	const hist = pane(a, 'lobby').locator('.marker-history').last();
	await hist.waitFor();
	const n = Number(await hist.getAttribute('data-count'));
	assert.ok(n >= 3, `history holds the room's messages (${n})`);
	const seqs = await a.$$eval('.pane[data-room="lobby"] .msg.history', (els) => els.slice(-3).map((el) => Number(el.dataset.seq)));
	assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'oldest first');
	assert.ok(await pane(a, 'lobby').locator('.msg.history', { hasText: 'hello from alice' }).count() >= 1);

	// a direct message from alice reaches bob's page, not alice's log as incoming
	await a.locator('#dm-to').fill('bob');
	await a.locator('#dm-text').fill('psst, bob');
	await a.locator('#dm-send').click();
	await b.locator('#dm-log .dm-in', { hasText: 'psst, bob' }).waitFor();
	assert.match(await b.locator('#dm-log .dm-in .dm-who').first().textContent(), /from alice/);
	await a.locator('#dm-log .dm-out[data-status="sent"]', { hasText: 'psst, bob' }).waitFor();
	assert.equal(await a.locator('#dm-log .dm-in').count(), 0);

	// to no one: no_such_user, shown on that message
	await a.locator('#dm-to').fill('nobody-home');
	await a.locator('#dm-text').fill('hello?');
	await a.locator('#dm-send').click();
	const failed = a.locator('#dm-log .dm-out.failed', { hasText: 'hello?' });
	await failed.locator('.msg-error[data-code="no_such_user"]').waitFor();
	assertNoProblems();
});

test('raw/pretty JSON toggle and copy', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	await send(pages.bob, '{"shape":"square","n":4}');
	const item = pane(a, 'lobby').locator('.msg:not(.mine)', { hasText: 'square' }).last();
	await item.waitFor();
	assert.ok(await item.locator('pre.content-json').isVisible());
	assert.ok(!(await item.locator('.content-raw').isVisible()));
	await a.locator('#view-raw').check();
	assert.ok(await item.locator('.content-raw').isVisible());
	assert.ok(!(await item.locator('pre.content-json').isVisible()));
	const raw = JSON.parse(await item.locator('.content-raw').textContent());
	assert.equal(raw.type, 'broadcast');
	assert.equal(raw.sender, 'bob');
	assert.equal(raw.room_id, 'lobby');
	assert.deepEqual(raw.content, { shape: 'square', n: 4 });
	assert.equal(String(raw.seq), await item.getAttribute('data-seq'));
	await item.locator('.copy-btn').click();
	await item.locator('.copy-btn[data-copied="yes"]').waitFor();
	assert.deepEqual(JSON.parse(await a.evaluate(() => navigator.clipboard.readText())), raw);
	await a.locator('#view-raw').uncheck();
	assert.ok(await item.locator('pre.content-json').isVisible());
	await item.locator('.copy-btn').click();
	assert.equal(await a.evaluate(() => navigator.clipboard.readText()), JSON.stringify(raw, null, 2));

	assertNoProblems();
});

test('(v1.1 ids) the member list, and the request id next to errors', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	// a DM to no one: the error shows the id the library gave the request
	await a.locator('#dm-to').fill('nobody-home');
	await a.locator('#dm-text').fill('anyone?');
	await a.locator('#dm-send').click();
	const failed = a.locator('#dm-log .dm-out.failed', { hasText: 'anyone?' });
	await failed.locator('.msg-error[data-code="no_such_user"]').waitFor();
	assert.match(await failed.locator('.err-id').textContent(), /id \d+/);
	// a raw frame with an id: its error shows that id
	try {
		await send(a, '{"type":"broadcast","room_id":"elsewhere","content":1,"id":"r-7"}', 'raw');
		const err = pane(a, 'lobby').locator('.msg.raw', { hasText: 'r-7' }).locator('.msg-error[data-code="not_member"]');
		await err.waitFor();
		assert.equal(await err.locator('.err-id').getAttribute('data-id'), '"r-7"');
	} finally {
		await a.locator('label[for="mode-auto"]').click();
	}
	// members: both users, alice marked as herself
	await a.locator('#members-btn').click();
	await a.locator('#members-list li[data-user="bob"]').waitFor();
	assert.equal(await a.locator('#members-list li.me').textContent(), 'alice');
	assert.match(await a.locator('#members-note').textContent(), /2 connections, 2 users/);
	assertNoProblems();
});

test('the token field: a token the server refuses stops the page, without retrying', async (t) => {
	if (!needPages(t)) return;
	const c = await openPage('carol');
	await c.locator('#conn-token').fill('not-a-valid-token');
	await c.locator('#conn-toggle').click();                 // disconnect
	await c.locator('#conn-state[data-state="idle"]').waitFor();
	await c.locator('#conn-toggle').click();                 // connect with the token
	await c.locator('#conn-state[data-state="stopped"]').waitFor();
	assert.match(await c.locator('#conn-state-text').textContent(), /token refused/);
	assert.equal(await c.locator('#conn-retry').isVisible(), false);
	// without a token it connects again
	await c.locator('#conn-token').fill('');
	await c.locator('#conn-toggle').click();
	await c.locator('#conn-state[data-state="open"]').waitFor();
	await c.context().close();
	delete pages.carol;
	assertNoProblems();
});

test('keyboard only: join a second room, switch tabs, send, leave; every control labelled', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	const unlabelled = await a.$$eval('input, textarea, button, select, canvas', (els) => els
		.filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
			|| (el.tagName === 'BUTTON' && el.textContent.trim())))
		.map((el) => el.outerHTML.slice(0, 80)));
	assert.deepEqual(unlabelled, [], 'controls without a label');

	await a.locator('#room-id').focus();
	await a.keyboard.type('second.room');
	await a.keyboard.press('Enter');
	await a.locator('.tab[data-room="second.room"][data-state="joined"]').waitFor();
	assert.equal(await a.locator('.tab[data-room="second.room"]').getAttribute('aria-selected'), 'true');
	// arrows move between tabs
	await a.locator('.tab[data-room="second.room"]').focus();
	await a.keyboard.press('ArrowLeft');
	assert.equal(await a.evaluate(() => document.activeElement.dataset.room), 'lobby');
	await a.keyboard.press('ArrowRight');
	assert.equal(await a.evaluate(() => document.activeElement.dataset.room), 'second.room');
	// Tab reaches the composer; Enter sends
	await a.locator('#composer-input').focus();
	await a.keyboard.type('only alice is here');
	await a.keyboard.press('Enter');
	await pane(a, 'second.room').locator('.msg.mine:not(.pending)[data-seq="1"]', { hasText: 'only alice is here' }).waitFor();
	assert.equal(await a.evaluate(() => document.activeElement.id), 'composer-input');
	// Leave, then Close the tab, by keyboard
	await a.locator('#leave-btn').focus();
	await a.keyboard.press('Enter');
	await a.locator('.tab[data-room="second.room"][data-state="left"]').waitFor();
	await a.locator('#close-btn').focus();
	await a.keyboard.press('Enter');
	await a.locator('.tab[data-room="second.room"]').waitFor({ state: 'detached' });
	assert.equal(await a.locator('.tab[data-room="lobby"]').getAttribute('aria-selected'), 'true');
	assertNoProblems();
});

test('seq gaps and dropped notices show as markers in the room pane', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	const b = pages.bob;

	// alice goes away; bob talks; alice comes back and rejoins by itself
	await a.locator('#conn-toggle').click();
	await a.locator('#conn-state[data-state="idle"]').waitFor();
	await a.locator('.tab[data-room="lobby"][data-state="offline"]').waitFor();
	await send(b, 'while alice was away 1');
	await send(b, 'while alice was away 2');
	await pane(b, 'lobby').locator('.msg.mine:not(.pending)', { hasText: 'while alice was away 2' }).waitFor();
	await a.locator('#conn-toggle').click();
	await a.locator('.tab[data-room="lobby"][data-state="joined"]').waitFor();
	// history holds both: the library rejoins with since/epoch and the
	// server replays them, so no gap
	await pane(a, 'lobby').locator('.marker-sys[data-recovered="true"]').waitFor();
	await pane(a, 'lobby').locator('.msg', { hasText: 'while alice was away 2' }).waitFor();
	assert.equal(await pane(a, 'lobby').locator('.msg', { hasText: 'while alice was away 1' }).count(), 1);
	assert.equal(await pane(a, 'lobby').locator('.marker-gap').count(), 0);

	// more than history holds (50): a forced gap, shown as such
	await a.locator('#conn-toggle').click();
	await a.locator('#conn-state[data-state="idle"]').waitFor();
	const missed = await b.evaluate(async ({ url, n }) => {
		const ws = new WebSocket(url, 'roomcast.v1');
		await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('socket failed')); });
		let last = 0;
		const done = new Promise((res) => {
			ws.onmessage = (ev) => { const m = JSON.parse(ev.data); if (m.type === 'broadcast' && m.content.away === n) res(); };
		});
		ws.send(JSON.stringify({ type: 'join', room_id: 'lobby', user_id: 'away-talker' }));
		for (let i = 1; i <= n; i++)
			ws.send(JSON.stringify({ type: 'broadcast', room_id: 'lobby', content: { away: i } }));
		await done;
		ws.close(1000);
		return last + n;
	}, { url: `ws://127.0.0.1:${server.port}/`, n: 60 });
	await a.locator('#conn-toggle').click();
	await a.locator('.tab[data-room="lobby"][data-state="joined"]').waitFor();
	const away = pane(a, 'lobby').locator('.marker-gap', { hasText: 'while you were away' });
	await away.waitFor();
	// bob's page got those 60 too (and the talker's join/leave presence)
	assert.ok(Number(await away.getAttribute('data-missing')) >= missed, 'the gap covers the 60 missed');

	// a burst from a third connection overflows the small send rings: every
	// message alice lost is a seq gap, and the server's dropped notices say
	// how many (pongs the server dropped may add to the notices' count)
	const gapsBefore = await a.$$eval('.pane[data-room="lobby"] .marker-gap', (els) =>
		els.reduce((n, el) => n + Number(el.dataset.missing), 0));
	const N = 150;
	const s0 = await b.evaluate(async ({ url, n }) => {
		const ws = new WebSocket(url, 'roomcast.v1');
		await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('flood socket failed')); });
		const joined = new Promise((res) => {
			ws.onmessage = (ev) => { const m = JSON.parse(ev.data); if (m.type === 'joined') res(m.seq); };
		});
		ws.send(JSON.stringify({ type: 'join', room_id: 'lobby', user_id: 'flood' }));
		const seq = await joined;
		ws.onmessage = null;
		const pad = 'x'.repeat(24);
		for (let i = 1; i <= n; i++)
			ws.send(JSON.stringify({ type: 'broadcast', room_id: 'lobby', content: { flood: i, pad } }));
		while (ws.bufferedAmount > 0)
			await new Promise((r) => setTimeout(r, 20));
		await new Promise((r) => setTimeout(r, 300));
		ws.close(1000);
		return seq;
	}, { url: `ws://127.0.0.1:${server.port}/`, n: N });
	// a marker message: on a busy machine alice's ring may still be full
	// and drop it too, so bob says it again until alice shows one
	const after = pane(a, 'lobby').locator('.msg', { hasText: /^.*after the flood/ }).first();
	for (let i = 1; ; i++) {
		await send(b, `after the flood ${i}`);
		try {
			await after.waitFor({ timeout: 2500 });
			break;
		} catch (err) {
			if (i === 4) throw err;
		}
	}
	const afterSeq = Number(await after.getAttribute('data-seq'));
	const seen = await a.$$eval('.pane[data-room="lobby"] .msg[data-seq]', (els, [lo, hi]) =>
		els.filter((el) => Number(el.dataset.seq) > lo && Number(el.dataset.seq) < hi).length, [s0, afterSeq]);
	const gaps = await a.$$eval('.pane[data-room="lobby"] .marker-gap', (els) =>
		els.reduce((n, el) => n + Number(el.dataset.missing), 0)) - gapsBefore;
	const dropped = await a.$$eval('.pane[data-room="lobby"] .marker-drop', (els) =>
		els.reduce((n, el) => n + Number(el.dataset.count), 0));
	console.log(`# burst of ${N}: alice saw ${seen}, gap markers count ${gaps} missing, dropped notices ${dropped}`);
	assert.ok(afterSeq - s0 - 1 >= N, 'seq grew by one per broadcast');
	assert.equal(seen + gaps, afterSeq - s0 - 1, 'every seq is either shown or inside a gap marker');
	assert.ok(dropped >= gaps, `dropped notices (${dropped}) cover the gaps (${gaps})`);
	assertNoProblems();
});

test('screenshots: desktop, 375 px wide, dark', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	await send(a, '{"kind":"demo","items":[1,2,3],"nested":{"deep":null}}');
	await send(pages.bob, 'Multi-line text\nsecond line');
	await pane(a, 'lobby').locator('.msg', { hasText: 'second line' }).waitFor();
	await a.waitForTimeout(500); // a few more chart samples
	const shots = [];
	const shot = async (page, name, opts = {}) => {
		const file = path.join(SHOT_DIR, name);
		const t0 = Date.now();
		await page.screenshot({ path: file, ...opts });
		console.log(`# ${name}: ${Date.now() - t0} ms`);
		shots.push(file);
	};
	await shot(a, 'desktop.png');
	await pane(a, 'lobby').locator('.marker-drop, .marker-gap').last().scrollIntoViewIfNeeded();
	await shot(a, 'desktop-gaps.png');
	await pane(a, 'lobby').evaluate((el) => { el.scrollTop = el.scrollHeight; });

	await a.emulateMedia({ colorScheme: 'dark' });
	await a.waitForTimeout(200);
	await shot(a, 'desktop-dark.png');
	await a.emulateMedia({ colorScheme: 'light' });

	// bob's page on a phone-sized screen
	const m = pages.bob;
	await m.setViewportSize({ width: 375, height: 812 });
	await send(m, 'hi from a phone');
	await pane(a, 'lobby').locator('.msg', { hasText: 'hi from a phone' }).waitFor();
	await send(a, 'welcome back, bob');
	await pane(m, 'lobby').locator('.msg', { hasText: 'welcome back, bob' }).waitFor();
	const overflow = await m.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 0, `page is ${overflow} px wider than a 375 px viewport`);
	await m.evaluate(() => window.scrollTo(0, 0));
	await shot(m, 'mobile-375.png');
	await shot(m, 'mobile-375-full.png', { fullPage: true });
	await m.emulateMedia({ colorScheme: 'dark' });
	await m.waitForTimeout(200);
	await shot(m, 'mobile-375-dark-full.png', { fullPage: true });
	await m.emulateMedia({ colorScheme: 'light' });
	await m.setViewportSize({ width: 1280, height: 860 });

	for (const f of shots) assert.ok(fs.statSync(f).size > 5000, `${f} looks empty`);
	console.log(`# screenshots written:\n${shots.map((f) => `#   ${f}`).join('\n')}`);
	assertNoProblems();
});

test('the README\'s 30-line chat example works as written', async (t) => {
	if (!needPages(t)) return;
	const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
	const file = fs.readFileSync(path.join(REPO, 'www', 'chat.html'), 'utf8');
	assert.ok(readme.includes('```html\n' + file + '```'), 'README.md shows www/chat.html as it is');
	assert.ok(file.trimEnd().split('\n').length <= 32, 'about 30 lines');
	const chat = async (name) => {
		const context = await browser.newContext();
		const page = await context.newPage();
		page.setDefaultTimeout(STEP_MS);
		page.on('console', (msg) => {
			if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`chat ${name}: ${msg.text()}`);
		});
		page.on('pageerror', (err) => problems.push(`chat ${name}: page error: ${err.message}`));
		await page.goto(`http://127.0.0.1:${server.port}/chat.html?name=${name}`);
		await page.locator('#log li', { hasText: `you are ${name}` }).waitFor();
		return page;
	};
	const ann = await chat('ann');
	const ben = await chat('ben');
	await ann.locator('#log li', { hasText: '* ben joined' }).waitFor();
	assert.match(await ann.title(), /chat \(open\)/);
	await ann.locator('#text').fill('hi ben');
	await ann.locator('#text').press('Enter');
	await ben.locator('#log li', { hasText: 'ann: hi ben' }).waitFor();
	await ann.locator('#log li', { hasText: 'ann: hi ben' }).waitFor();
	assert.equal(await ann.locator('#text').inputValue(), '', 'the input is cleared once the server took it');
	await ann.context().close();
	await ben.locator('#log li', { hasText: '* ann left' }).waitFor();
	await ben.context().close();
	assertNoProblems();
});

test('after a server restart the page reconnects and rejoins its room', async (t) => {
	if (!needPages(t)) return;
	const a = pages.alice;
	const b = pages.bob;
	const { port, statusPort } = server;
	outage = true;
	const exit = await stopServer(server);
	server = null;
	assert.deepEqual(exit, { code: 0, sig: null }, 'SIGTERM: exit 0');

	await a.locator('#conn-state[data-state="waiting"], #conn-state[data-state="connecting"]').first().waitFor();
	assert.match(await a.locator('#event-log').textContent(), /1001/, 'the close carried 1001');

	server = await startServer(port, statusPort);
	for (const p of [a, b]) {
		await p.locator('#conn-state[data-state="open"]').waitFor({ timeout: 20000 });
		await p.locator('.tab[data-room="lobby"][data-state="joined"]').waitFor();
	}
	outage = false;
	await a.locator('#stats-state', { hasText: 'live' }).waitFor();
	// a fresh server numbers the room anew: the page says so
	await pane(a, 'lobby').locator('.marker-epoch').waitFor();
	await send(b, 'after the restart');
	await pane(a, 'lobby').locator('.msg', { hasText: 'after the restart' }).waitFor();
	await a.screenshot({ path: path.join(SHOT_DIR, 'after-restart.png') });
	assertNoProblems();
});
