// roomcast.js: a client for roomcast servers (docs/PROTOCOL.md), one ES
// module with no dependencies and no build step. In a browser it uses the
// global WebSocket; in Node pass npm's `ws`:
//
//   import WebSocket from 'ws';
//   import { RoomcastClient } from './roomcast.js';
//   const rc = new RoomcastClient('ws://127.0.0.1:8080/', { WebSocket, userId: 'alice' });
//   rc.on('broadcast', (m) => console.log(m.sender, m.content));
//   await rc.join('lobby');
//   rc.broadcast('lobby', { text: 'hi' });
//
// What it does for you: connects with the `roomcast.v1` subprotocol (and a
// token, when given); reconnects with jittered exponential backoff; rejoins
// every room it is in with `since`/`epoch`, so that the server replays what
// was missed when it still can; reports what could not be recovered as
// `gap` and `epoch` events; matches answers to requests by `id` (promises
// for join, leave, history, members, auth, ping); refreshes its token before
// `exp`; and does not reconnect blindly after 4003, 4004 or 4005.
//
// Types: roomcast.d.ts beside this file; JSDoc below.

/** The WebSocket subprotocol every roomcast server speaks. */
export const SUBPROTOCOL = 'roomcast.v1';
/** The protocol version this library follows (docs/PROTOCOL.md). */
export const PROTOCOL_VERSION = 'roomcast.v1.1';

/** Close codes and what they mean (docs/PROTOCOL.md, Close codes). */
export const CLOSE_CODES = Object.freeze({
	1000: 'normal closure',
	1001: 'server shutting down',
	1006: 'connection lost',
	1007: 'invalid UTF-8 in a message',
	1009: 'message too big',
	1011: 'internal server error',
	4001: 'slow consumer',
	4002: 'no pong in time',
	4003: 'not authenticated in time',
	4004: 'token expired',
	4005: 'disconnected by the server',
});

const ANSWER_TYPES = new Set(['joined', 'left', 'history', 'members', 'authed', 'pong', 'error']);
const STABLE_MS = 5000;           // an open this long resets the backoff

/**
 * An error the server sent (`code` is the protocol's), or one the library
 * made: `closed` (the connection went away before the answer), `timeout`,
 * `not_connected`.
 */
export class RoomcastError extends Error {
	/**
	 * @param {string} code
	 * @param {string} message
	 * @param {{ref?: string, id?: string|number, serverMessage?: object}} [extra]
	 */
	constructor(code, message, extra = {}) {
		super(`${code}: ${message}`);
		this.name = 'RoomcastError';
		this.code = code;
		this.ref = extra.ref;
		this.id = extra.id;
		this.serverMessage = extra.serverMessage;
	}
}

/**
 * The delay before reconnect attempt `attempt` (0-based), in ms: "equal
 * jitter", half of the capped exponential delay fixed and half random, so
 * that clients do not come back in lock step after a restart.
 * @param {number} attempt
 * @param {{baseMs?: number, maxMs?: number}} [opts]
 * @param {() => number} [rnd]
 */
export function backoffDelay(attempt, { baseMs = 500, maxMs = 15000 } = {}, rnd = Math.random) {
	const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
	return Math.round(cap / 2 + rnd() * cap / 2);
}

/** True when a and b are equal JSON values (object key order ignored). */
export function jsonEqual(a, b) {
	if (a === b) return true;
	if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	if (Array.isArray(a))
		return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
	const ka = Object.keys(a);
	return ka.length === Object.keys(b).length &&
		ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** The `exp` claim of a JWT (seconds), or null; the signature is not checked. */
export function tokenExp(token) {
	try {
		const part = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
		const json = typeof atob === 'function' ? atob(part) : Buffer.from(part, 'base64').toString();
		const exp = JSON.parse(json).exp;
		return Number.isFinite(exp) ? exp : null;
	} catch {
		return null;
	}
}

/**
 * One logical connection to a roomcast server, kept up until close().
 *
 * Events (on(type, fn)); every listener gets one object:
 *   state      {state, attempt, delay?, code?, reason?}
 *              idle | connecting | authenticating | open | waiting | stopped
 *   open       {url, protocol}            the socket is ready (after auth)
 *   close      {code, reason, wasOpen, willReconnect, delay}
 *   message    every server message, parsed (before the specific events)
 *   joined     the `joined` message, plus {rejoin: boolean}
 *   left       the `left` message (a `reason` when the server made us leave)
 *   broadcast  a room's message {room_id, sender, seq, content}
 *   presence   {event, room_id, user_id}
 *   direct     {from, content}
 *   dropped    {count}: the server dropped that many messages for us
 *   gap        {room_id, from, to, count, reason}: seqs never received;
 *              reason 'dropped' (slow connection) or 'reconnect'
 *   epoch      {room_id, from, to}: the room's numbering started over, so
 *              what came before cannot be recovered
 *   authed     the `authed` message
 *   error      a RoomcastError no request was waiting for (e.g. an error
 *              to a raw frame, rate_limited, a refused re-join: `room_id`)
 *   invalid    {raw}: a server message that is not a JSON object
 */
export class RoomcastClient {
	/**
	 * @param {string} url ws:// or wss:// URL of the server
	 * @param {object} [opts] see roomcast.d.ts (RoomcastOptions)
	 */
	constructor(url, opts = {}) {
		this.url = url;
		this.opts = {
			reconnect: true, backoff: {}, requestTimeoutMs: 10000,
			refreshBeforeS: 30, tokenInUrl: false, autoConnect: true, ...opts,
		};
		this.WebSocket = opts.WebSocket || globalThis.WebSocket;
		if (!this.WebSocket)
			throw new TypeError('no WebSocket: pass { WebSocket } (npm ws in Node)');
		/** @type {Map<string, RoomState>} */
		this.rooms = new Map();
		this.userId = opts.userId || null;   // what we ask for
		this.me = null;                      // what the server says we are
		this.state = 'idle';
		this.attempt = 0;
		this.protocol = '';
		this.ws = null;
		this.wanted = false;
		this.nextId = 1;
		this.pending = new Map();            // id -> request
		this.idEcho = false;                 // the server echoes ids (v1.1)
		this.listeners = new Map();
		this.timers = { retry: 0, stable: 0, refresh: 0 };
		this.retryAt = 0;
		this.token = opts.token || null;
		this.exp = null;
		this.authRefused = null;
		if (this.opts.autoConnect)
			this.connect().catch(() => {});   // seen through events
	}

	/* ---- events -------------------------------------------------------- */

	/** Adds a listener; returns a function that removes it. */
	on(type, fn) {
		if (!this.listeners.has(type)) this.listeners.set(type, new Set());
		this.listeners.get(type).add(fn);
		return () => this.off(type, fn);
	}

	/** Removes a listener added with on(). */
	off(type, fn) {
		this.listeners.get(type)?.delete(fn);
	}

	emit(type, detail) {
		for (const fn of [...(this.listeners.get(type) || [])]) {
			try {
				fn(detail);
			} catch (err) {
				// a listener's bug must not break the connection
				setTimeout(() => { throw err; });
			}
		}
	}

	/* ---- connection ---------------------------------------------------- */

	/** True while the socket is open and authenticated (when a token is used). */
	get isOpen() {
		return this.state === 'open';
	}

	/** Starts connecting (and reconnecting) until close(). Resolves on the next open. */
	connect() {
		this.wanted = true;
		if (this.state === 'open')
			return Promise.resolve();
		const opened = this.waitOpen();
		if (this.state === 'idle' || this.state === 'stopped') {
			this.attempt = 0;
			this.openSocket();
		}
		return opened;
	}

	/** Resolves when the connection is next open; rejects when it stops. */
	waitOpen() {
		if (this.state === 'open') return Promise.resolve();
		return new Promise((resolve, reject) => {
			const offs = [
				this.on('open', () => { offs.forEach((f) => f()); resolve(); }),
				this.on('state', (s) => {
					if (s.state === 'stopped' || s.state === 'idle') {
						offs.forEach((f) => f());
						reject(new RoomcastError('closed', s.reason || 'connection stopped', { code: s.code }));
					}
				}),
			];
		});
	}

	/**
	 * Closes (code 1000) and stops reconnecting. The rooms stay wanted: the
	 * next connect() rejoins them (with recovery); leave() forgets one.
	 */
	close(code = 1000, reason = 'bye') {
		this.wanted = false;
		this.clearTimers();
		const ws = this.ws;
		this.ws = null;
		if (ws) {
			detach(ws);
			if (ws.readyState === 1) ws.close(code, reason);
			else if (ws.readyState === 0) ws.onopen = () => ws.close(code, reason);
		}
		this.failPending('closed', 'the connection was closed');
		for (const r of this.rooms.values()) r.joined = false;
		if (ws) this.emit('close', { code, reason, wasOpen: true, willReconnect: false, delay: 0 });
		this.setState('idle', { code, reason });
	}

	/** Skips the remaining backoff wait. */
	retryNow() {
		if (this.wanted && this.state === 'waiting') {
			clearTimeout(this.timers.retry);
			this.openSocket();
		}
	}

	async openSocket() {
		this.setState('connecting');
		if (!this.token && this.opts.getToken) {
			try {
				this.token = await this.opts.getToken();
			} catch (err) {
				return this.afterClose(null, 1006, `getToken failed: ${err.message || err}`);
			}
			if (!this.wanted || this.state !== 'connecting') return;
		}
		let url = this.url;
		if (this.token && this.opts.tokenInUrl)
			url += (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(this.token);
		let ws;
		try {
			ws = new this.WebSocket(url, this.opts.protocols || SUBPROTOCOL);
		} catch (err) {
			// a malformed URL: retrying cannot help
			this.wanted = false;
			this.setState('stopped', { reason: String(err.message || err) });
			return;
		}
		this.ws = ws;
		ws.wasOpen = false;
		ws.onopen = () => this.onSocketOpen(ws);
		ws.onmessage = (ev) => { if (ws === this.ws) this.onData(ev.data); };
		ws.onclose = (ev) => { if (ws === this.ws) this.afterClose(ws, ev.code, ev.reason); };
		ws.onerror = () => { /* the close event that follows carries the news */ };
	}

	async onSocketOpen(ws) {
		ws.wasOpen = true;
		this.protocol = ws.protocol;
		this.me = null;
		this.idEcho = false;
		if (this.token && !this.opts.tokenInUrl) {
			this.setState('authenticating');
			try {
				await this.request({ type: 'auth', token: this.token }, true);
			} catch (err) {
				if (ws !== this.ws) return;
				// a token the server refuses: coming back with it cannot help
				this.token = null;
				if (!this.opts.getToken) this.authRefused = err.message;
				ws.close(1000, 'auth refused');
				return;
			}
			if (ws !== this.ws) return;
		}
		this.setState('open');
		this.timers.stable = setTimeout(() => { this.attempt = 0; }, STABLE_MS);
		this.emit('open', { url: this.url, protocol: ws.protocol });
		for (const room of this.rooms.values())
			if (room.wanted) this.sendJoin(room, true);
	}

	afterClose(ws, code, reason) {
		if (ws) detach(ws);
		this.ws = null;
		clearTimeout(this.timers.stable);
		clearTimeout(this.timers.refresh);
		this.failPending('closed', `the connection closed (${code})`);
		for (const r of this.rooms.values()) r.joined = false;
		const stop = this.stopReason(code);
		const willReconnect = this.wanted && this.opts.reconnect && !stop;
		const delay = willReconnect ? backoffDelay(this.attempt, this.opts.backoff) : 0;
		this.emit('close', { code, reason, wasOpen: !!ws?.wasOpen, willReconnect, delay });
		if (!willReconnect) {
			this.wanted = false;
			this.setState(stop ? 'stopped' : 'idle', { code, reason: stop || reason });
			return;
		}
		this.attempt++;
		this.retryAt = Date.now() + delay;
		this.timers.retry = setTimeout(() => this.openSocket(), delay);
		this.setState('waiting', { code, reason, delay });
	}

	/** Why a close code stops reconnecting (PROTOCOL.md's table), or null. */
	stopReason(code) {
		if (this.authRefused) {
			const why = `token refused (${this.authRefused})`;
			this.authRefused = null;
			return why;
		}
		if (code === 4005) return 'disconnected by the server (4005)';
		if (code === 4003 || code === 4004) {
			// the old token is no good; only a fresh one may bring us back
			this.token = null;
			if (!this.opts.getToken)
				return code === 4003 ? 'not authenticated in time (4003): a token is needed'
					: 'token expired (4004): a new token is needed';
		}
		return null;
	}

	setState(state, extra = {}) {
		this.state = state;
		this.emit('state', { state, attempt: this.attempt, ...extra });
	}

	clearTimers() {
		for (const k of Object.keys(this.timers)) {
			clearTimeout(this.timers[k]);
			this.timers[k] = 0;
		}
	}

	/* ---- sending ------------------------------------------------------- */

	/** Sends one JSON object as it is; false when not connected. */
	send(obj) {
		return this.sendRaw(JSON.stringify(obj));
	}

	/** Sends `text` as one text message, unchanged; false when not connected. */
	sendRaw(text) {
		const ws = this.ws;
		if (!ws || ws.readyState !== 1) return false;
		ws.send(text);
		return true;
	}

	/**
	 * Sends `msg` with a fresh `id`; resolves with the answer, rejects with
	 * a RoomcastError (the server's error, `closed`, `timeout`).
	 */
	request(msg, evenBeforeAuth = false) {
		if (!this.ws || this.ws.readyState !== 1 || (!evenBeforeAuth && this.state !== 'open'))
			return Promise.reject(new RoomcastError('not_connected', 'not connected'));
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			const req = { id, type: msg.type, room: msg.room_id, resolve, reject };
			req.timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new RoomcastError('timeout', `no answer to ${msg.type} within ${this.opts.requestTimeoutMs} ms`, { id }));
			}, this.opts.requestTimeoutMs);
			this.pending.set(id, req);
			this.send({ ...msg, id });
		});
	}

	failPending(code, why) {
		const old = [...this.pending.values()];
		this.pending.clear();
		for (const r of old) {
			clearTimeout(r.timer);
			r.reject(new RoomcastError(code, why, { id: r.id }));
		}
	}

	/* ---- the protocol's requests -------------------------------------- */

	/**
	 * Joins `roomId` and keeps it joined across reconnects until leave().
	 * Resolves with the `joined` answer (when not connected: at the next
	 * open, connect() is not called for you). A server error rejects and
	 * forgets the room, unless it is still joined.
	 */
	join(roomId) {
		let room = this.rooms.get(roomId);
		if (!room) {
			room = { id: roomId, wanted: true, joined: false, seq: null, epoch: null, members: null, waiters: [] };
			this.rooms.set(roomId, room);
		}
		room.wanted = true;
		const p = new Promise((resolve, reject) => room.waiters.push({ resolve, reject }));
		// not open: joined (and resolved) when the connection next opens
		if (this.state === 'open') this.sendJoin(room, false);
		return p;
	}

	sendJoin(room, rejoin) {
		const msg = { type: 'join', room_id: room.id };
		if (this.userId) msg.user_id = this.userId;
		if (room.seq !== null && room.epoch !== null) {
			msg.since = room.seq;
			msg.epoch = room.epoch;
		}
		this.request(msg).then((m) => this.onJoined(room, m, rejoin), (err) => {
			if (err.code === 'closed' || err.code === 'not_connected')
				return;   // the next open joins again
			// refused: forgotten, unless still a member (a refused re-join
			// such as user_mismatch changes nothing on the server)
			if (err.code !== 'timeout' && !room.joined) {
				room.wanted = false;
				this.rooms.delete(room.id);
			}
			err.room_id = room.id;
			const w = room.waiters.splice(0);
			w.forEach((x) => x.reject(err));
			if (!w.length) this.emit('error', err);
		});
	}

	onJoined(room, m, rejoin) {
		if (this.rooms.get(room.id) !== room) return;
		const seq = Number.isInteger(m.seq) ? m.seq : null;
		const epoch = typeof m.epoch === 'string' ? m.epoch : null;
		// how many messages a recovering rejoin gets replayed
		const missed = m.recovered === true && room.seq !== null &&
			seq !== null ? seq - room.seq : undefined;
		const epochChanged = room.epoch !== null && epoch !== null &&
			epoch !== room.epoch;
		room.joined = true;
		room.members = m.members ?? null;
		if (m.user_id) this.me = m.user_id;
		if (room.epoch !== null && epoch !== null && epoch !== room.epoch) {
			this.emit('epoch', { room_id: room.id, from: room.epoch, to: epoch });
			room.seq = seq;
		} else if (m.recovered === true) {
			// the replay follows and moves room.seq up to seq
		} else if (room.seq !== null && seq !== null && seq > room.seq) {
			this.emit('gap', { room_id: room.id, from: room.seq + 1, to: seq, count: seq - room.seq, reason: 'reconnect' });
			room.seq = seq;
		} else if (room.seq === null) {
			room.seq = seq;
		}
		room.epoch = epoch;
		this.emit('joined', { ...m, rejoin, missed, epochChanged });
		room.waiters.splice(0).forEach((w) => w.resolve(m));
	}

	/** Leaves `roomId` (and stops rejoining it); resolves with `left`. */
	async leave(roomId) {
		const room = this.rooms.get(roomId);
		if (room) room.wanted = false;
		if (!room?.joined || this.state !== 'open') {
			this.rooms.delete(roomId);
			if (room) room.waiters.splice(0).forEach((w) => w.reject(new RoomcastError('closed', 'left before joining')));
			return { type: 'left', room_id: roomId };
		}
		try {
			return await this.request({ type: 'leave', room_id: roomId });
		} finally {
			if (this.rooms.get(roomId) === room && !room.wanted) this.rooms.delete(roomId);
		}
	}

	/**
	 * Broadcasts `content` to a room this client is in. Resolves with the
	 * room's message as it came back (its `seq`), rejects with the server's
	 * error. When the server dropped our own copy (a slow connection), it
	 * resolves with {seq: null} once a later message shows it was accepted.
	 */
	broadcast(roomId, content) {
		if (this.state !== 'open')
			return Promise.reject(new RoomcastError('not_connected', 'not connected'));
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			const req = { id, type: 'broadcast', room: roomId, content, resolve, reject };
			req.timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new RoomcastError('timeout', 'no echo of the broadcast', { id }));
			}, this.opts.requestTimeoutMs);
			this.pending.set(id, req);
			this.send({ type: 'broadcast', room_id: roomId, content, id });
		});
	}

	/** The room's members: resolves with {members, users, truncated?} (v1.1). */
	members(roomId) {
		return this.request({ type: 'members', room_id: roomId });
	}

	/** The room's last `limit` held messages, oldest first. */
	async history(roomId, limit) {
		const msg = { type: 'history', room_id: roomId };
		if (limit !== undefined) msg.limit = limit;
		const m = await this.request(msg);
		return m.messages || [];
	}

	/**
	 * Sends `content` to every connection of user `to`. Resolves once the
	 * server has taken it (a ping sent behind it came back with no error),
	 * rejects with `no_such_user` and the like.
	 */
	async direct(to, content) {
		const sent = this.request({ type: 'direct', to, content });
		const directId = this.nextId - 1;
		sent.catch(() => {});
		// answers come in order: a pong first means the direct had no error
		const pong = this.request({ type: 'ping' });
		pong.catch(() => {});
		await Promise.race([sent, pong]);
		const req = this.pending.get(directId);
		if (req) {
			clearTimeout(req.timer);
			this.pending.delete(directId);
		}
	}

	/** Sends a protocol ping; resolves with the round trip in ms. */
	async ping() {
		const t0 = now();
		await this.request({ type: 'ping' });
		return now() - t0;
	}

	/**
	 * Authenticates (or refreshes, v1.1) with `token`; resolves with
	 * `authed`. The token is kept for reconnects.
	 */
	async auth(token) {
		const m = await this.request({ type: 'auth', token }, true);
		this.token = token;
		return m;
	}

	/* ---- receiving ----------------------------------------------------- */

	onData(data) {
		if (typeof data !== 'string') {
			this.emit('invalid', { raw: '[binary message]' });
			return;
		}
		let m;
		try {
			m = JSON.parse(data);
		} catch {
			m = null;
		}
		if (!m || typeof m !== 'object' || Array.isArray(m)) {
			this.emit('invalid', { raw: data });
			return;
		}
		this.emit('message', m);
		if (ANSWER_TYPES.has(m.type) && this.settle(m))
			return;
		switch (m.type) {
		case 'broadcast': return this.onBroadcast(m);
		case 'presence': return this.onPresence(m);
		case 'direct': return this.emit('direct', m);
		case 'dropped': return this.emit('dropped', m);
		case 'epoch': return this.onEpoch(m);
		case 'left': return this.onLeft(m);
		case 'error': return this.emit('error', serverError(m));
		default: return;   // forward compatibility: unknown types are ignored
		}
	}

	/** Settles the request `m` answers; true when one was waiting. */
	settle(m) {
		let req = null;
		if (m.id !== undefined && m.id !== null) {
			if (m.type !== 'pong') this.idEcho = true;
			req = this.pending.get(m.id) || null;
		} else if (!this.idEcho) {
			req = this.oldestFor(m);   // a v1.0 server: match by order
		}
		if (!req) return false;
		this.pending.delete(req.id);
		clearTimeout(req.timer);
		if (m.type === 'error') {
			req.reject(serverError(m));
		} else {
			if (m.type === 'authed') this.onAuthed(m);
			if (m.type === 'left') this.onLeft(m, true);
			req.resolve(m);
		}
		return true;
	}

	/** For a server that does not echo ids: the oldest request `m` may answer. */
	oldestFor(m) {
		const want = { joined: 'join', left: 'leave', history: 'history', members: 'members', authed: 'auth', pong: 'ping' };
		for (const r of this.pending.values()) {
			if (m.type === 'error' ? r.type === m.ref : r.type === want[m.type] &&
			    (m.room_id === undefined || r.room === m.room_id))
				return r;
		}
		return null;
	}

	onBroadcast(m) {
		const room = this.rooms.get(m.room_id);
		if (room && Number.isInteger(m.seq)) {
			if (room.seq !== null && m.seq <= room.seq)
				return;   // already seen (replay overlap): at most once
			if (room.seq !== null && m.seq > room.seq + 1)
				this.emit('gap', { room_id: room.id, from: room.seq + 1, to: m.seq - 1, count: m.seq - room.seq - 1, reason: 'dropped' });
			room.seq = m.seq;
		}
		if (this.me !== null && m.sender === this.me) this.settleEcho(m);
		this.emit('broadcast', m);
	}

	settleEcho(m) {
		let match = null;
		const older = [];
		for (const r of this.pending.values()) {
			if (r.type !== 'broadcast' || r.room !== m.room_id) continue;
			if (jsonEqual(r.content, m.content)) {
				match = r;
				break;
			}
			older.push(r);
		}
		if (!match) return;
		// earlier broadcasts of ours had no error either: their echo was dropped
		for (const r of [...older, match]) {
			this.pending.delete(r.id);
			clearTimeout(r.timer);
			r.resolve(r === match ? m : { type: 'broadcast', room_id: m.room_id, sender: m.sender, seq: null, content: r.content });
		}
	}

	onPresence(m) {
		const room = this.rooms.get(m.room_id);
		if (room && room.members !== null) {
			if (m.event === 'join') room.members++;
			else if (m.event === 'leave') room.members = Math.max(1, room.members - 1);
		}
		this.emit('presence', m);
	}

	onEpoch(m) {
		const room = this.rooms.get(m.room_id);
		if (room) {
			this.emit('epoch', { room_id: room.id, from: room.epoch, to: m.epoch });
			room.epoch = m.epoch;
			room.seq = Number.isInteger(m.seq) ? m.seq : 0;
		}
	}

	onLeft(m, asked = false) {
		const room = this.rooms.get(m.room_id);
		if (room && (asked || m.reason)) {
			room.joined = false;
			room.wanted = false;
			this.rooms.delete(m.room_id);
		}
		this.emit('left', m);
	}

	onAuthed(m) {
		this.me = m.user_id ?? this.me;
		this.exp = Number.isFinite(m.exp) ? m.exp : tokenExp(this.token);
		this.emit('authed', m);
		clearTimeout(this.timers.refresh);
		if (this.exp === null || !this.opts.getToken) return;
		const inMs = Math.max(1000, (this.exp - this.opts.refreshBeforeS) * 1000 - Date.now());
		this.timers.refresh = setTimeout(() => this.refreshToken(), inMs);
	}

	async refreshToken() {
		try {
			const token = await this.opts.getToken();
			if (this.state === 'open') await this.auth(token);
			else this.token = token;
		} catch (err) {
			this.emit('error', err instanceof RoomcastError ? err : new RoomcastError('refresh_failed', String(err.message || err)));
		}
	}
}

function serverError(m) {
	return new RoomcastError(m.code || 'error', m.message || '', { ref: m.ref, id: m.id, serverMessage: m });
}

function detach(ws) {
	ws.onopen = ws.onmessage = ws.onclose = null;
	ws.onerror = () => {};
}

function now() {
	return globalThis.performance ? performance.now() : Date.now();
}

/**
 * @typedef {object} RoomState
 * @property {string} id
 * @property {boolean} wanted   rejoined on reconnect
 * @property {boolean} joined
 * @property {number|null} seq  the last seq received
 * @property {string|null} epoch
 * @property {number|null} members
 */
