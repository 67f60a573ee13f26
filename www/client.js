// roomcast WebSocket connection with automatic reconnect.
//
// Owns one WebSocket at a time. While the user wants to be connected, a
// connection that goes away is retried with exponential backoff plus jitter
// ("equal jitter": half the capped delay fixed, half random), so a crowd of
// pages does not come back in lock step after a server restart. Close codes
// that say "do not come back without a new token" (4003, 4004) stop retrying.
//
// Events (EventTarget, detail in event.detail):
//   state    {state, attempt, delay, code, reason}
//            state: idle | connecting | open | waiting | stopped
//   open     {url, protocol}
//   message  {msg, raw}        one parsed server JSON object
//   invalid  {raw}             a server message that is not a JSON object
//   close    {code, reason, wasOpen, willRetry, delay}

export const SUBPROTOCOL = 'roomcast.v1';

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15000;
const STABLE_MS = 5000;   // an open this long resets the backoff
const NO_RETRY_CODES = new Map([
	[4003, 'not authenticated in time'],
	[4004, 'token expired'],
]);

export const CLOSE_REASONS = new Map([
	[1000, 'normal closure'],
	[1001, 'server shutting down'],
	[1006, 'connection lost'],
	[1007, 'invalid UTF-8 in a message'],
	[1009, 'message too big'],
	[4001, 'slow consumer'],
	[4002, 'no pong in time'],
	[4003, 'not authenticated in time'],
	[4004, 'token expired'],
]);

/** Returns the default server URL: the page's own host, ws or wss to match. */
export function defaultUrl(loc = window.location) {
	if (loc.protocol !== 'http:' && loc.protocol !== 'https:')
		return 'ws://127.0.0.1:8080/';
	const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
	return `${scheme}//${loc.host}/`;
}

/** Returns the delay before retry number `attempt` (0-based), in ms. */
export function backoffDelay(attempt, rnd = Math.random) {
	const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
	return Math.round(cap / 2 + rnd() * cap / 2);
}

// Closes `ws` without callbacks. A socket still connecting is closed once it
// opens: close() during the handshake makes the browser log a warning.
function closeQuietly(ws, reason) {
	ws.onmessage = ws.onclose = null;
	ws.onerror = () => {};
	if (ws.readyState === WebSocket.CONNECTING)
		ws.onopen = () => ws.close(1000, reason);
	else if (ws.readyState === WebSocket.OPEN)
		ws.close(1000, reason);
}

export class Connection extends EventTarget {
	constructor() {
		super();
		this.ws = null;
		this.url = '';
		this.wanted = false;
		this.attempt = 0;
		this.state = 'idle';
		this.retryTimer = 0;
		this.stableTimer = 0;
		this.retryAt = 0;
	}

	get isOpen() {
		return !!this.ws && this.ws.readyState === WebSocket.OPEN;
	}

	/** Connects to `url` and keeps reconnecting until disconnect(). */
	connect(url) {
		this.url = url;
		this.wanted = true;
		this.attempt = 0;
		this.clearTimers();
		this.dropSocket();
		this.open();
	}

	/** Closes the connection (code 1000) and stops reconnecting. */
	disconnect() {
		this.wanted = false;
		this.clearTimers();
		if (this.ws) {
			const ws = this.ws;
			this.ws = null;
			closeQuietly(ws, 'bye');
			this.emit('close', { code: 1000, reason: 'closed by you', wasOpen: true, willRetry: false, delay: 0 });
		}
		this.setState('idle');
	}

	/** Skips the remaining backoff wait. */
	retryNow() {
		if (!this.wanted || this.state !== 'waiting')
			return;
		this.clearTimers();
		this.open();
	}

	/** Sends one JSON object; returns false when not connected. */
	send(obj) {
		return this.sendRaw(JSON.stringify(obj));
	}

	/** Sends `text` as one text message, as it is; false when not connected. */
	sendRaw(text) {
		if (!this.isOpen)
			return false;
		this.ws.send(text);
		return true;
	}

	open() {
		let ws;
		this.setState('connecting');
		try {
			ws = new WebSocket(this.url, SUBPROTOCOL);
		} catch (err) {
			// A malformed URL: retrying cannot help.
			this.wanted = false;
			this.setState('stopped', { reason: String(err.message || err) });
			return;
		}
		this.ws = ws;
		ws.wasOpen = false;
		ws.onopen = () => this.onOpen(ws);
		ws.onmessage = (ev) => this.onMessage(ev);
		ws.onclose = (ev) => this.onClose(ws, ev);
		ws.onerror = () => { /* the close event that follows carries the news */ };
	}

	onOpen(ws) {
		ws.wasOpen = true;
		this.setState('open');
		this.stableTimer = setTimeout(() => { this.attempt = 0; }, STABLE_MS);
		this.emit('open', { url: this.url, protocol: ws.protocol });
	}

	onMessage(ev) {
		if (typeof ev.data !== 'string') {
			this.emit('invalid', { raw: '[binary message]' });
			return;
		}
		let msg;
		try {
			msg = JSON.parse(ev.data);
		} catch {
			msg = null;
		}
		if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
			this.emit('invalid', { raw: ev.data });
			return;
		}
		this.emit('message', { msg, raw: ev.data });
	}

	onClose(ws, ev) {
		if (ws !== this.ws)
			return;
		this.detach(ws);
		this.ws = null;
		clearTimeout(this.stableTimer);
		const stop = NO_RETRY_CODES.get(ev.code);
		const willRetry = this.wanted && !stop;
		const delay = willRetry ? backoffDelay(this.attempt) : 0;
		this.emit('close', { code: ev.code, reason: ev.reason, wasOpen: ws.wasOpen, willRetry, delay });
		if (!willRetry) {
			this.wanted = false;
			this.setState(stop ? 'stopped' : 'idle', { code: ev.code, reason: stop || ev.reason });
			return;
		}
		this.attempt++;
		this.retryAt = performance.now() + delay;
		this.retryTimer = setTimeout(() => { this.retryTimer = 0; this.open(); }, delay);
		this.setState('waiting', { code: ev.code, reason: ev.reason, delay });
	}

	detach(ws) {
		ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
	}

	dropSocket() {
		if (!this.ws)
			return;
		const ws = this.ws;
		this.ws = null;
		closeQuietly(ws, 'reconnecting');
	}

	clearTimers() {
		clearTimeout(this.retryTimer);
		clearTimeout(this.stableTimer);
		this.retryTimer = this.stableTimer = 0;
	}

	setState(state, extra = {}) {
		this.state = state;
		this.emit('state', { state, attempt: this.attempt, ...extra });
	}

	emit(type, detail) {
		this.dispatchEvent(new CustomEvent(type, { detail }));
	}
}
