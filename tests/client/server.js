// Starts and stops roomcast-server for the client library tests: free
// loopback ports, bounded waits, the server killed at the end whatever
// happens.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVER_BIN = process.env.ROOMCAST_SERVER_BIN
	|| [path.join(REPO, 'build', 'roomcast-server')].find((p) => fs.existsSync(p));
const READY_MS = 10000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
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

const running = new Set();
process.on('exit', () => { for (const s of running) s.proc.kill('SIGKILL'); });

/**
 * Starts roomcast-server with `options` (NAME=VALUE strings); resolves with
 * {proc, port, statusPort, url, log, exited()} once both ports accept.
 */
export async function startServer(options = [], { port, statusPort } = {}) {
	if (!SERVER_BIN || !fs.existsSync(SERVER_BIN))
		throw new Error('set ROOMCAST_SERVER_BIN to the path of roomcast-server');
	port ??= await freePort();
	statusPort ??= await freePort();
	const args = ['--port', String(port), '--status-port', String(statusPort)];
	for (const o of options) args.push('--option', o);
	const proc = spawn(SERVER_BIN, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
	const log = [];
	proc.stdout.on('data', (d) => log.push(String(d)));
	proc.stderr.on('data', (d) => log.push(String(d)));
	let exited = null;
	proc.once('exit', (code, sig) => { exited = { code, sig }; running.delete(srv); });
	const srv = {
		proc, port, statusPort, log, exited: () => exited,
		url: `ws://127.0.0.1:${port}/`,
	};
	running.add(srv);
	const deadline = Date.now() + READY_MS;
	while (Date.now() < deadline) {
		if (exited)
			throw new Error(`roomcast-server exited early (${JSON.stringify(exited)}):\n${log.join('')}`);
		if (await canConnect(port) && await canConnect(statusPort))
			return srv;
		await sleep(50);
	}
	proc.kill('SIGKILL');
	throw new Error(`roomcast-server not ready within ${READY_MS} ms:\n${log.join('')}`);
}

/** SIGTERM, then SIGKILL after graceMs; resolves with {code, sig}. */
export async function stopServer(srv, graceMs = 6000) {
	if (!srv) return null;
	if (srv.exited()) return srv.exited();
	const exit = new Promise((r) => srv.proc.once('exit', (code, sig) => r({ code, sig })));
	srv.proc.kill('SIGTERM');
	const t = setTimeout(() => srv.proc.kill('SIGKILL'), graceMs);
	const res = await exit;
	clearTimeout(t);
	return res;
}

/** GET http://127.0.0.1:port/path; resolves with {status, body}. */
export async function httpGet(port, p) {
	const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(3000) });
	return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

/** Resolves with the first event `type` of `client` that `pred` accepts. */
export function nextEvent(client, type, pred = () => true, ms = 5000) {
	return new Promise((resolve, reject) => {
		const t = setTimeout(() => { off(); reject(new Error(`no ${type} event within ${ms} ms`)); }, ms);
		const off = client.on(type, (ev) => {
			if (!pred(ev)) return;
			clearTimeout(t);
			off();
			resolve(ev);
		});
	});
}

/** Polls `fn` until it returns a truthy value (then returns it) or ms pass. */
export async function until(fn, ms = 5000, what = 'condition') {
	const deadline = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`${what}: not true within ${ms} ms`);
		await sleep(20);
	}
}
