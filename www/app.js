// roomcast test page: the glue between the DOM, the connection and the
// protocol (see PROTOCOL.md). No framework; everything the server sends is
// put in the page with textContent, never as HTML.

import { Connection, defaultUrl, CLOSE_REASONS, SUBPROTOCOL } from './client.js';
import { Sparkline } from './chart.js';
import { renderJson, jsonEqual, fmtTime, fmtInt, fmtRate, fmtUptime } from './util.js';

const $ = (id) => document.getElementById(id);

const MAX_ITEMS_PER_ROOM = 500;
const MAX_LOG = 60;
const PING_EVERY_MS = 2000;
const PENDING_TIMEOUT_MS = 10000;
const STATS_EVERY_MS = 1000;
const STATS_BACKOFF_MS = 5000;

const conn = new Connection();
const rooms = new Map();          // room_id -> Room
let activeRoom = null;            // room_id shown
let roomSerial = 0;
let me = null;                    // user id the server gave this connection
let pending = [];                 // sent messages waiting for their answer
let pingSerial = 0;
let countdownTimer = 0;
let pingTimer = 0;

const ui = {
	connForm: $('conn-form'), connUrl: $('conn-url'), connToggle: $('conn-toggle'),
	connState: $('conn-state'), connStateText: $('conn-state-text'), connRetry: $('conn-retry'),
	userId: $('user-id'), userEffective: $('user-effective'),
	joinForm: $('join-form'), roomId: $('room-id'), joinFeedback: $('join-feedback'),
	eventLog: $('event-log'),
	roomTitle: $('room-title'), roomMeta: $('room-meta'),
	leaveBtn: $('leave-btn'), closeBtn: $('close-btn'),
	tabs: $('tabs'), panes: $('panes'), paneEmpty: $('pane-empty'),
	composer: $('composer'), input: $('composer-input'), hint: $('composer-hint'), sendBtn: $('send-btn'),
};

/* ---- connection log ---------------------------------------------------- */

function logEvent(text, kind = 'info') {
	const top = ui.eventLog.firstElementChild;
	if (top && top.dataset.text === text) {
		// the same news again: count it instead of repeating it
		const n = Number(top.dataset.repeat || 1) + 1;
		top.dataset.repeat = String(n);
		top.querySelector('.ev-text').textContent = `${text} (×${n})`;
		top.querySelector('time').textContent = fmtTime(new Date());
		return;
	}
	const li = document.createElement('li');
	li.dataset.text = text;
	li.className = `ev ev-${kind}`;
	const t = document.createElement('time');
	const now = new Date();
	t.dateTime = now.toISOString();
	t.textContent = fmtTime(now);
	const span = document.createElement('span');
	span.className = 'ev-text';
	span.textContent = text;
	li.append(t, span);
	ui.eventLog.prepend(li);
	while (ui.eventLog.children.length > MAX_LOG)
		ui.eventLog.lastElementChild.remove();
}

/** Logs a `dropped` notice; a run of notices becomes one line with a total. */
function logDropped(n) {
	const top = ui.eventLog.firstElementChild;
	if (top && top.dataset.key === 'dropped') {
		const total = Number(top.dataset.total) + n;
		const notices = Number(top.dataset.notices) + 1;
		top.dataset.total = String(total);
		top.dataset.notices = String(notices);
		top.querySelector('.ev-text').textContent =
			`Server dropped ${total} messages for this slow connection (${notices} notices)`;
		top.querySelector('time').textContent = fmtTime(new Date());
		return;
	}
	logEvent(`Server dropped ${n} message${n === 1 ? '' : 's'} for this slow connection`, 'warn');
	Object.assign(ui.eventLog.firstElementChild.dataset, { key: 'dropped', total: String(n), notices: '1' });
}

/* ---- connection state -------------------------------------------------- */

function closeText(code, reason) {
	const known = CLOSE_REASONS.get(code);
	const parts = [`code ${code}`];
	if (known) parts.push(known);
	if (reason && reason !== known) parts.push(`“${reason}”`);
	return parts.join(', ');
}

function renderConnState(d) {
	clearInterval(countdownTimer);
	ui.connState.dataset.state = d.state;
	ui.connRetry.hidden = d.state !== 'waiting';
	ui.connToggle.textContent = conn.wanted ? 'Disconnect' : 'Connect';
	ui.connToggle.classList.toggle('btn-primary', !conn.wanted);
	ui.connToggle.classList.toggle('btn-danger', conn.wanted);
	switch (d.state) {
	case 'connecting':
		ui.connStateText.textContent = d.attempt ? `Reconnecting… (attempt ${d.attempt + 1})` : 'Connecting…';
		break;
	case 'open':
		ui.connStateText.textContent = `Connected · ${conn.ws?.protocol || 'no subprotocol'}`;
		break;
	case 'waiting': {
		const tick = () => {
			const left = Math.max(0, conn.retryAt - performance.now());
			ui.connStateText.textContent = `Reconnecting in ${(left / 1000).toFixed(1)} s (attempt ${d.attempt + 1})`;
		};
		tick();
		countdownTimer = setInterval(tick, 200);
		break;
	}
	case 'stopped':
		ui.connStateText.textContent = `Stopped: ${d.reason || 'cannot connect'}`;
		break;
	default:
		ui.connStateText.textContent = 'Not connected';
	}
	updateComposer();
	updateRoomHead();
}

conn.addEventListener('state', (e) => renderConnState(e.detail));

conn.addEventListener('open', (e) => {
	logEvent(`Connected to ${e.detail.url} (${e.detail.protocol || 'no subprotocol'})`, 'ok');
	if (e.detail.protocol !== SUBPROTOCOL)
		logEvent(`Server chose subprotocol “${e.detail.protocol}”, expected ${SUBPROTOCOL}`, 'warn');
	me = null;
	showIdentity();
	rejoinRooms();
	startPings();
	kickStats();
});

conn.addEventListener('close', (e) => {
	const d = e.detail;
	stopPings();
	me = null;
	showIdentity();
	failAllPending('not confirmed: the connection closed');
	for (const room of rooms.values()) {
		if (room.joined || room.state === 'joining') {
			room.joined = false;
			room.state = room.want ? 'offline' : 'left';
			renderTab(room);
		}
	}
	updateRoomHead();
	let text = d.wasOpen ? `Disconnected (${closeText(d.code, d.reason)})` : `Could not connect (${closeText(d.code, d.reason)})`;
	if (d.willRetry)
		text += `; retrying in ${(d.delay / 1000).toFixed(1)} s`;
	logEvent(text, d.code === 1000 ? 'info' : 'warn');
});

conn.addEventListener('invalid', (e) => {
	logEvent(`Server sent something that is not a JSON object: ${e.detail.raw.slice(0, 80)}`, 'error');
});

conn.addEventListener('message', (e) => handleMessage(e.detail.msg));

ui.connForm.addEventListener('submit', (e) => {
	e.preventDefault();
	if (conn.wanted) {
		conn.disconnect();
		return;
	}
	const url = ui.connUrl.value.trim() || defaultUrl();
	if (!/^wss?:\/\//i.test(url)) {
		logEvent(`“${url}” is not a ws:// or wss:// URL`, 'error');
		ui.connUrl.focus();
		return;
	}
	conn.connect(url);
});

ui.connRetry.addEventListener('click', () => conn.retryNow());

/* ---- identity ---------------------------------------------------------- */

function showIdentity() {
	if (me)
		ui.userEffective.textContent = me.startsWith('guest-')
			? `Connected as ${me} (no user id given yet).`
			: `Connected as ${me}. Another id needs a new connection.`;
	else
		ui.userEffective.textContent = 'The server assigns an id at the first join.';
}

function wantedUserId() {
	const v = ui.userId.value.trim();
	return v || null;
}

/* ---- pending requests ---------------------------------------------------
 * Every client message gets exactly one direct answer (the reply or an
 * error), in order. An error names the type that caused it in `ref`, so it
 * is matched to the oldest pending message of that type; one without `ref`
 * (bad_json, rate_limited) to the oldest raw frame, or the oldest of all.
 */

function addPending(p) {
	p.at = performance.now();
	pending.push(p);
	return p;
}

function takePending(pred) {
	const i = pending.findIndex(pred);
	if (i < 0) return null;
	return pending.splice(i, 1)[0];
}

function failAllPending(why) {
	const old = pending;
	pending = [];
	for (const p of old)
		p.onTimeout?.(why);
}

setInterval(() => {
	const now = performance.now();
	const late = pending.filter((p) => now - p.at > PENDING_TIMEOUT_MS);
	if (!late.length) return;
	pending = pending.filter((p) => now - p.at <= PENDING_TIMEOUT_MS);
	for (const p of late)
		p.onTimeout?.('no answer from the server');
}, 1000);

/* ---- rooms, tabs and panes -------------------------------------------- */

function getRoom(id, create = true) {
	let room = rooms.get(id);
	if (room || !create) return room;
	const n = ++roomSerial;
	room = {
		id, n, want: true, joined: false, state: 'joining', members: null,
		seq: null, epoch: null, unread: 0, userId: null,
	};
	room.tab = document.createElement('button');
	room.tab.type = 'button';
	room.tab.className = 'tab';
	room.tab.id = `tab-${n}`;
	room.tab.setAttribute('role', 'tab');
	room.tab.setAttribute('aria-controls', `pane-${n}`);
	room.tab.dataset.room = id;
	const dot = document.createElement('span');
	dot.className = 'tab-dot';
	dot.setAttribute('aria-hidden', 'true');
	const name = document.createElement('span');
	name.className = 'tab-name';
	name.textContent = id;
	const badge = document.createElement('span');
	badge.className = 'tab-badge';
	badge.hidden = true;
	room.tab.append(dot, name, badge);
	room.tab.addEventListener('click', () => selectRoom(id));
	room.tab.addEventListener('keydown', onTabKey);

	room.pane = document.createElement('div');
	room.pane.className = 'pane';
	room.pane.id = `pane-${n}`;
	room.pane.dataset.room = id;
	room.pane.setAttribute('role', 'tabpanel');
	room.pane.setAttribute('aria-labelledby', `tab-${n}`);
	room.pane.tabIndex = 0;
	room.list = document.createElement('ol');
	room.list.className = 'messages';
	room.list.setAttribute('role', 'log');
	room.list.setAttribute('aria-label', `Messages in ${id}`);
	room.pane.append(room.list);

	ui.tabs.append(room.tab);
	ui.panes.append(room.pane);
	rooms.set(id, room);
	renderTab(room);
	if (!activeRoom)
		selectRoom(id);
	else
		room.pane.hidden = true;
	return room;
}

function renderTab(room) {
	room.tab.dataset.state = room.state;
	const badge = room.tab.querySelector('.tab-badge');
	badge.hidden = room.unread === 0;
	badge.textContent = room.unread > 99 ? '99+' : String(room.unread);
	const label = [room.id, room.state];
	if (room.unread) label.push(`${room.unread} unread`);
	room.tab.setAttribute('aria-label', label.join(', '));
	if (room.id === activeRoom)
		updateRoomHead();
}

function selectRoom(id, focus = false) {
	activeRoom = id;
	for (const room of rooms.values()) {
		const on = room.id === id;
		room.tab.setAttribute('aria-selected', String(on));
		room.tab.tabIndex = on ? 0 : -1;
		room.pane.hidden = !on;
		if (on) {
			room.unread = 0;
			renderTab(room);
			if (focus) room.tab.focus();
			scrollToEnd(room, true);
		}
	}
	ui.paneEmpty.hidden = rooms.size > 0;
	updateRoomHead();
	updateComposer();
}

function onTabKey(e) {
	const ids = [...rooms.keys()];
	const i = ids.indexOf(activeRoom);
	let next = null;
	if (e.key === 'ArrowRight') next = ids[(i + 1) % ids.length];
	else if (e.key === 'ArrowLeft') next = ids[(i - 1 + ids.length) % ids.length];
	else if (e.key === 'Home') next = ids[0];
	else if (e.key === 'End') next = ids[ids.length - 1];
	if (next === null) return;
	e.preventDefault();
	selectRoom(next, true);
}

function removeRoom(id) {
	const room = rooms.get(id);
	if (!room) return;
	room.tab.remove();
	room.pane.remove();
	rooms.delete(id);
	if (activeRoom === id) {
		activeRoom = null;
		const first = rooms.keys().next();
		if (!first.done) selectRoom(first.value);
	}
	ui.paneEmpty.hidden = rooms.size > 0;
	updateRoomHead();
	updateComposer();
}

function updateRoomHead() {
	const room = activeRoom && rooms.get(activeRoom);
	if (!room) {
		ui.roomTitle.textContent = 'No room selected';
		ui.roomMeta.textContent = 'Join a room to start talking.';
		ui.leaveBtn.disabled = true;
		ui.leaveBtn.textContent = 'Leave';
		ui.closeBtn.hidden = true;
		return;
	}
	ui.roomTitle.textContent = `# ${room.id}`;
	const meta = [];
	meta.push({ joined: 'joined', joining: 'joining…', offline: 'offline, will rejoin', left: 'not a member' }[room.state] || room.state);
	if (room.members !== null)
		meta.push(`${room.members} member${room.members === 1 ? '' : 's'}${room.presenceSeen ? '' : ' at join'}`);
	if (room.seq !== null) meta.push(`seq ${room.seq}`);
	if (room.epoch) meta.push(`epoch ${room.epoch}`);
	ui.roomMeta.textContent = meta.join(' · ');
	ui.roomMeta.dataset.members = room.members ?? '';
	const member = room.state === 'joined';
	ui.leaveBtn.textContent = member || room.state === 'joining' ? 'Leave' : 'Rejoin';
	ui.leaveBtn.disabled = !conn.isOpen;
	ui.closeBtn.hidden = member;
}

ui.leaveBtn.addEventListener('click', () => {
	const room = activeRoom && rooms.get(activeRoom);
	if (!room) return;
	if (room.state === 'joined' || room.state === 'joining') {
		room.want = false;
		const sent = conn.send({ type: 'leave', room_id: room.id });
		if (!sent) return;
		addPending({
			type: 'leave', room: room.id,
			onError: (err) => appendError(room, err, 'leave'),
		});
	} else {
		joinRoom(room.id);
	}
});

ui.closeBtn.addEventListener('click', () => {
	if (activeRoom) removeRoom(activeRoom);
	(ui.tabs.querySelector('[aria-selected="true"]') || ui.roomId).focus();
});

/* ---- room pane items --------------------------------------------------- */

function nearBottom(room) {
	const p = room.pane;
	return p.scrollHeight - p.scrollTop - p.clientHeight < 48;
}

function scrollToEnd(room, force = false) {
	if (force || room.stick !== false)
		room.pane.scrollTop = room.pane.scrollHeight;
}

function appendItem(room, li) {
	const stick = room.pane.hidden || nearBottom(room);
	room.list.append(li);
	while (room.list.children.length > MAX_ITEMS_PER_ROOM)
		room.list.firstElementChild.remove();
	if (stick) room.pane.scrollTop = room.pane.scrollHeight;
	return li;
}

function marker(room, kind, text, extra = {}) {
	const li = document.createElement('li');
	li.className = `marker marker-${kind}`;
	Object.assign(li.dataset, extra);
	const span = document.createElement('span');
	span.textContent = text;
	li.append(span);
	return appendItem(room, li);
}

function contentNode(content) {
	if (typeof content === 'string') {
		const p = document.createElement('p');
		p.className = 'content content-text';
		p.textContent = content;
		return p;
	}
	const pre = document.createElement('pre');
	pre.className = 'content content-json';
	pre.append(renderJson(content));
	return pre;
}

function messageItem({ sender, seq, content, mine, label }) {
	const li = document.createElement('li');
	li.className = 'msg' + (mine ? ' mine' : '');
	const head = document.createElement('div');
	head.className = 'msg-head';
	const who = document.createElement('span');
	who.className = 'sender';
	who.textContent = sender;
	head.append(who);
	if (label) {
		const l = document.createElement('span');
		l.className = 'chip';
		l.textContent = label;
		head.append(l);
	}
	if (seq !== undefined && seq !== null) {
		const s = document.createElement('span');
		s.className = 'seq';
		s.textContent = `#${seq}`;
		s.title = 'room sequence number';
		head.append(s);
		li.dataset.seq = seq;
	}
	const now = new Date();
	const t = document.createElement('time');
	t.dateTime = now.toISOString();
	t.title = now.toLocaleString();
	t.textContent = fmtTime(now);
	head.append(t);
	li.append(head, contentNode(content));
	return li;
}

function setItemStatus(li, text, kind) {
	let s = li.querySelector('.msg-status');
	if (!s) {
		s = document.createElement('div');
		s.className = 'msg-status';
		li.append(s);
	}
	s.dataset.kind = kind;
	s.textContent = text;
}

function errorBox(err) {
	const box = document.createElement('div');
	box.className = 'msg-error';
	box.dataset.code = err.code || 'error';
	box.setAttribute('role', 'alert');
	const code = document.createElement('code');
	code.textContent = err.code || 'error';
	const text = document.createElement('span');
	text.textContent = err.message ? ` ${err.message}` : '';
	box.append(code, text);
	if (err.ref) {
		const ref = document.createElement('span');
		ref.className = 'ref';
		ref.textContent = ` (ref: ${err.ref})`;
		box.append(ref);
	}
	return box;
}

function attachError(li, err) {
	li.classList.remove('pending');
	li.classList.add('failed');
	li.querySelector('.msg-status')?.remove();
	li.append(errorBox(err));
	if (!li.isConnected) return;
	const pane = li.closest('.pane');
	if (pane && pane.scrollHeight - pane.scrollTop - pane.clientHeight < 160)
		pane.scrollTop = pane.scrollHeight;
}

function appendError(room, err, what) {
	const li = document.createElement('li');
	li.className = 'marker marker-error';
	const span = document.createElement('span');
	span.textContent = `Your ${what} was refused:`;
	li.append(span, errorBox(err));
	appendItem(room, li);
}

/* ---- joining ----------------------------------------------------------- */

function joinRoom(id, { rejoin = false } = {}) {
	const room = getRoom(id);
	room.want = true;
	const msg = { type: 'join', room_id: id };
	const uid = wantedUserId() || (me && !me.startsWith('guest-') ? me : null);
	if (uid) msg.user_id = uid;
	if (rejoin && room.seq !== null && room.epoch) {
		msg.since = room.seq;
		msg.epoch = room.epoch;
	}
	if (!conn.send(msg)) {
		room.state = 'offline';
		renderTab(room);
		return false;
	}
	if (room.state !== 'joined') room.state = 'joining';
	renderTab(room);
	addPending({
		type: 'join', room: id,
		onError: (err) => {
			if (room.state === 'joining') {
				room.state = 'left';
				room.want = false;
			}
			renderTab(room);
			if (joinFeedbackFor === id) joinFeedbackFor = null;
			if (!room.joined && room.list.children.length === 0 && !rejoin) {
				removeRoom(id);
				showJoinFeedback(`Could not join “${id}”`, err);
			} else {
				appendError(room, err, 'join');
				showJoinFeedback(`Join “${id}” refused, see the room.`, null, { fade: true });
			}
		},
		onTimeout: (why) => {
			if (room.state === 'joining') {
				room.state = conn.isOpen ? 'left' : 'offline';
				renderTab(room);
			}
			if (conn.isOpen) marker(room, 'sys', `Join ${why}.`);
		},
	});
	return true;
}

let feedbackTimer = 0;
let joinFeedbackFor = null;      // room whose "Joining…" the form shows

function showJoinFeedback(text, err, { fade = false } = {}) {
	clearTimeout(feedbackTimer);
	if (fade)
		feedbackTimer = setTimeout(() => ui.joinFeedback.replaceChildren(), 4000);
	ui.joinFeedback.replaceChildren();
	ui.joinFeedback.dataset.kind = err ? 'error' : 'info';
	const span = document.createElement('span');
	span.textContent = text;
	ui.joinFeedback.append(span);
	if (err) ui.joinFeedback.append(errorBox(err));
}

function rejoinRooms() {
	for (const room of rooms.values())
		if (room.want)
			joinRoom(room.id, { rejoin: true });
}

ui.joinForm.addEventListener('submit', (e) => {
	e.preventDefault();
	const id = ui.roomId.value.trim();
	if (!id) {
		showJoinFeedback('Type a room id first.');
		ui.roomId.focus();
		return;
	}
	const existed = rooms.has(id);
	if (!conn.isOpen) {
		getRoom(id).want = true;
		getRoom(id).state = 'offline';
		renderTab(getRoom(id));
		selectRoom(id);
		showJoinFeedback(`Not connected: “${id}” will be joined when the connection opens.`);
		ui.roomId.value = '';
		return;
	}
	joinRoom(id);
	if (!existed || activeRoom !== id) selectRoom(id);
	joinFeedbackFor = id;
	showJoinFeedback(`Joining “${id}”…`);
	ui.roomId.value = '';
});

/* ---- server messages --------------------------------------------------- */

function handleMessage(msg) {
	switch (msg.type) {
	case 'joined': return onJoined(msg);
	case 'left': return onLeft(msg);
	case 'broadcast': return onBroadcast(msg);
	case 'presence': return onPresence(msg);
	case 'pong': return onPong(msg);
	case 'dropped': return onDropped(msg);
	case 'error': return onError(msg);
	case 'direct': return onDirect(msg);
	case 'authed':
		logEvent(`Authenticated as ${msg.user_id}`, 'ok');
		return;
	default:
		// Forward compatibility: unknown types are ignored (PROTOCOL.md).
		return;
	}
}

function onJoined(msg) {
	const id = msg.room_id;
	takePending((p) => p.type === 'join' && p.room === id);
	const room = getRoom(id);
	const wasJoined = room.joined;
	room.joined = true;
	room.state = 'joined';
	room.want = true;
	if (typeof msg.members === 'number') room.members = msg.members;
	if (msg.user_id) {
		me = msg.user_id;
		room.userId = me;
		showIdentity();
	}
	if (!wasJoined) {
		const how = room.seq === null ? 'Joined' : 'Rejoined';
		marker(room, 'sys', `${how} as ${msg.user_id ?? '?'} · ${room.members ?? '?'} member${room.members === 1 ? '' : 's'}`);
	}
	const seq = Number.isInteger(msg.seq) ? msg.seq : null;
	const epoch = msg.epoch ?? null;
	if (room.epoch !== null && epoch !== null && epoch !== room.epoch) {
		marker(room, 'epoch', `Room numbering restarted (epoch ${room.epoch} → ${epoch}); earlier messages are from before.`);
		room.seq = seq;
	} else if (msg.recovered === true) {
		marker(room, 'sys', `Rejoined; missed messages are being replayed.`);
	} else if (room.seq !== null && seq !== null && seq > room.seq) {
		gapMarker(room, room.seq + 1, seq, 'while you were away');
		room.seq = seq;
	} else if (room.seq === null || (seq !== null && !wasJoined)) {
		room.seq = seq;
	}
	room.epoch = epoch;
	if (id === joinFeedbackFor) {
		joinFeedbackFor = null;
		showJoinFeedback(`Joined “${id}”.`, null, { fade: true });
	}
	renderTab(room);
	updateComposer();
}

function onLeft(msg) {
	takePending((p) => p.type === 'leave' && p.room === msg.room_id);
	const room = getRoom(msg.room_id, false);
	if (!room) return;
	room.joined = false;
	room.want = false;
	room.state = 'left';
	room.members = null;
	marker(room, 'sys', 'You left this room.');
	renderTab(room);
	updateComposer();
}

function gapMarker(room, from, to, why) {
	const n = to - from + 1;
	const range = n === 1 ? `seq ${from}` : `seq ${from}–${to}`;
	const text = `${n} message${n === 1 ? '' : 's'} missed ${why} (${range})`;
	const last = room.list.lastElementChild;
	if (last && last.classList.contains('marker-drop') && !last.dataset.missing) {
		// the server's notice came just before the gap it explains: one marker
		last.classList.add('marker-gap');
		last.dataset.missing = String(n);
		last.dataset.from = String(from);
		last.dataset.to = String(to);
		const c = Number(last.dataset.count);
		last.firstElementChild.textContent = `${n} message${n === 1 ? '' : 's'} missed (${range}): the server dropped ${c} for this slow connection`;
		return;
	}
	marker(room, 'gap', text, { missing: String(n), from: String(from), to: String(to) });
}

function onBroadcast(msg) {
	const room = getRoom(msg.room_id, false);
	if (!room) {
		logEvent(`Broadcast for a room this page is not in: ${msg.room_id}`, 'warn');
		return;
	}
	const seq = Number.isInteger(msg.seq) ? msg.seq : null;
	if (seq !== null && room.seq !== null) {
		if (seq <= room.seq) {
			logEvent(`Duplicate or out-of-order message in ${room.id}: seq ${seq} after ${room.seq}`, 'warn');
			return;
		}
		if (seq > room.seq + 1)
			gapMarker(room, room.seq + 1, seq - 1, '(dropped for this connection)');
	}
	if (seq !== null) room.seq = seq;

	const mine = me !== null && msg.sender === me;
	if (mine) {
		const p = takePending((q) => q.type === 'broadcast' && q.room === room.id && jsonEqual(q.content, msg.content));
		p?.li.remove();
	}
	appendItem(room, messageItem({ sender: msg.sender ?? '?', seq, content: msg.content, mine }));
	if (room.id !== activeRoom) room.unread++;
	renderTab(room);
}

function onPresence(msg) {
	const room = getRoom(msg.room_id, false);
	if (!room) return;
	room.presenceSeen = true;
	if (msg.event === 'join') {
		if (room.members !== null) room.members++;
		marker(room, 'presence', `${msg.user_id} joined`);
	} else if (msg.event === 'leave') {
		if (room.members !== null) room.members = Math.max(1, room.members - 1);
		marker(room, 'presence', `${msg.user_id} left`);
	}
	renderTab(room);
}

function onDropped(msg) {
	const n = msg.count;
	logDropped(n);
	for (const room of rooms.values()) {
		if (!room.joined) continue;
		const last = room.list.lastElementChild;
		if (last && last.classList.contains('marker-drop') && !last.dataset.missing) {
			// notices with no message between them: add up
			const c = Number(last.dataset.count) + n;
			last.dataset.count = String(c);
			last.firstElementChild.textContent = dropText(c);
			continue;
		}
		marker(room, 'drop', dropText(n), { count: String(n) });
	}
}

function dropText(n) {
	return `The server dropped ${n} message${n === 1 ? '' : 's'} for this slow connection (all its rooms)`;
}

function onDirect(msg) {
	logEvent(`Direct message from ${msg.from}: ${JSON.stringify(msg.content).slice(0, 120)}`, 'info');
}

function onError(err) {
	let p = null;
	if (err.ref)
		p = takePending((q) => q.type === err.ref);
	else if (err.code === 'bad_json' || err.code === 'bad_frame')
		p = takePending((q) => q.raw);
	if (!p && !err.ref)
		p = takePending(() => true);
	if (p?.onError) {
		p.onError(err);
		return;
	}
	logEvent(`Server error ${err.code}: ${err.message ?? ''}${err.ref ? ` (ref ${err.ref})` : ''}`, 'error');
	const room = activeRoom && rooms.get(activeRoom);
	if (room) appendError(room, err, err.ref || 'message');
}

/* ---- round trip time ------------------------------------------------- */

const rtt = { el: $('stat-rtt'), chart: new Sparkline($('chart-rtt'), { capacity: 30, format: (v) => `${Math.round(v)} ms` }) };

function startPings() {
	stopPings();
	const ping = () => {
		if (!conn.isOpen) return;
		const id = `rtt-${++pingSerial}`;
		const t0 = performance.now();
		if (!conn.send({ type: 'ping', id })) return;
		addPending({
			type: 'ping', id,
			onOk: () => {
				const ms = performance.now() - t0;
				rtt.el.textContent = ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
				rtt.chart.push(ms);
			},
			onTimeout: () => rtt.chart.push(null),
		});
	};
	ping();
	pingTimer = setInterval(ping, PING_EVERY_MS);
}

function stopPings() {
	clearInterval(pingTimer);
	pingTimer = 0;
	rtt.el.textContent = '–';
}

function onPong(msg) {
	const p = takePending((q) => q.type === 'ping' && q.id === msg.id);
	p?.onOk?.();
}

/* ---- composer ---------------------------------------------------------- */

function composerMode() {
	return ui.composer.querySelector('input[name="mode"]:checked').value;
}

function parseComposer(text, mode) {
	if (mode === 'text') return { content: text, kind: 'string' };
	try {
		return { content: JSON.parse(text), kind: 'json' };
	} catch {
		return { content: text, kind: 'string' };
	}
}

function updateComposer() {
	const text = ui.input.value;
	const mode = composerMode();
	const room = activeRoom && rooms.get(activeRoom);
	let hint = '';
	if (!conn.isOpen)
		hint = 'Not connected.';
	else if (mode === 'raw')
		hint = 'Sent as it is, one text frame (no room needed).';
	else if (!room)
		hint = 'Join a room first.';
	else if (text.trim() === '')
		hint = `To # ${room.id}`;
	else {
		const { content, kind } = parseComposer(text, mode);
		hint = kind === 'json'
			? `To # ${room.id} as JSON ${content === null ? 'null' : Array.isArray(content) ? 'array' : typeof content}`
			: `To # ${room.id} as a string`;
	}
	ui.hint.textContent = hint;
	ui.sendBtn.disabled = !conn.isOpen || text === '' || (mode !== 'raw' && !room);
}

function send() {
	const text = ui.input.value;
	const mode = composerMode();
	if (!conn.isOpen || text === '') return;
	const room = activeRoom && rooms.get(activeRoom);
	if (mode === 'raw') {
		let parsed = null;
		try { parsed = JSON.parse(text); } catch { /* raw on purpose */ }
		const type = parsed && typeof parsed === 'object' && typeof parsed.type === 'string' ? parsed.type : null;
		const li = messageItem({ sender: me ?? 'you', content: text, mine: true, label: 'raw frame' });
		li.classList.add('pending', 'raw');
		if (room) appendItem(room, li);
		conn.sendRaw(text);
		setItemStatus(li, 'sent', 'sent');
		addPending({
			type: type ?? '(raw)', raw: true, li,
			room: parsed?.room_id, content: parsed?.content, id: parsed?.id,
			onError: (err) => {
				if (room) attachError(li, err);
				else {
					logEvent(`Raw frame refused: ${err.code}`, 'error');
					showJoinFeedback('Raw frame refused', err);
				}
			},
			onTimeout: () => { li.classList.remove('pending'); setItemStatus(li, 'no error from the server', 'ok'); },
		});
	} else {
		const { content } = parseComposer(text, mode);
		const li = messageItem({ sender: me ?? 'you', content, mine: true });
		li.classList.add('pending');
		setItemStatus(li, 'sending…', 'pending');
		appendItem(room, li);
		scrollToEnd(room, true);
		conn.send({ type: 'broadcast', room_id: room.id, content });
		addPending({
			type: 'broadcast', room: room.id, content, li,
			onError: (err) => attachError(li, err),
			onTimeout: (why) => { li.classList.remove('pending'); setItemStatus(li, why, 'warn'); },
		});
	}
	ui.input.value = '';
	updateComposer();
	ui.input.focus();
}

ui.composer.addEventListener('submit', (e) => {
	e.preventDefault();
	send();
});

ui.input.addEventListener('keydown', (e) => {
	if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
		e.preventDefault();
		send();
	}
});

ui.input.addEventListener('input', updateComposer);
ui.composer.addEventListener('change', updateComposer);

/* ---- status panel ------------------------------------------------------ */

const stats = {
	url: new URL('/stats', window.location.href),
	badge: $('stats-state'),
	els: {
		connections: $('stat-connections'), rooms: $('stat-rooms'), mps: $('stat-mps'), drops: $('stat-drops'),
		received: $('stat-received'), sent: $('stat-sent'), connTotal: $('stat-conn-total'), uptime: $('stat-uptime'),
		process: $('stat-process'), processRow: $('stat-cluster-row'),
		redis: $('stat-redis'), redisRow: $('stat-redis-row'),
	},
	charts: {
		connections: new Sparkline($('chart-connections')),
		rooms: new Sparkline($('chart-rooms')),
		mps: new Sparkline($('chart-mps'), { format: fmtRate }),
		drops: new Sparkline($('chart-drops'), { format: fmtRate }),
	},
	lastDropped: null,
	lastAt: 0,
};

function setStatsBadge(text, kind) {
	stats.badge.textContent = text;
	stats.badge.dataset.kind = kind;
}

function showStats(s) {
	const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
	const e = stats.els;
	const conns = num(s.connections_active);
	const roomsN = num(s.rooms_active);
	const mps = num(s.messages_per_second);
	const dropped = num(s.messages_dropped);
	e.connections.textContent = conns ?? '–';
	e.rooms.textContent = roomsN ?? '–';
	e.mps.textContent = mps === null ? '–' : fmtRate(mps);
	e.drops.textContent = dropped === null ? '–' : fmtInt(dropped);
	e.received.textContent = fmtInt(num(s.messages_received));
	e.sent.textContent = fmtInt(num(s.messages_sent));
	e.connTotal.textContent = fmtInt(num(s.connections_total));
	e.uptime.textContent = fmtUptime(num(s.uptime_s));
	e.received.dataset.value = s.messages_received ?? '';
	/* clustered (PROTOCOL.md, Cluster over Redis): which process answered
	   these stats, and whether it reaches Redis */
	const clustered = typeof s.redis === 'string';
	e.processRow.hidden = !clustered;
	e.redisRow.hidden = !clustered;
	if (clustered) {
		e.process.textContent = `worker ${num(s.worker) ?? '?'} · pid ${num(s.pid) ?? '?'} · node ${String(s.node ?? '').slice(0, 8)}`;
		e.redis.textContent = s.redis;
		e.redis.dataset.kind = s.redis === 'up' ? 'ok' : 'error';
	}

	const now = performance.now();
	let dropRate = null;
	if (dropped !== null && stats.lastDropped !== null && stats.lastAt) {
		const dt = Math.max(0.001, (now - stats.lastAt) / 1000);
		dropRate = Math.max(0, dropped - stats.lastDropped) / dt;
	}
	stats.lastDropped = dropped;
	stats.lastAt = now;
	stats.charts.connections.push(conns);
	stats.charts.rooms.push(roomsN);
	stats.charts.mps.push(mps);
	stats.charts.drops.push(dropRate ?? (dropped === null ? null : 0));
}

let statsTimer = 0;
let statsBusy = false;

async function pollStats() {
	let next = STATS_EVERY_MS;
	statsTimer = 0;
	statsBusy = true;
	try {
		const res = await fetch(stats.url, { cache: 'no-store', signal: AbortSignal.timeout(2500) });
		if (!res.ok) throw new Error(`HTTP ${res.status}`);
		const body = await res.json();
		if (!body || typeof body !== 'object') throw new Error('not a JSON object');
		showStats(body);
		setStatsBadge('live', 'ok');
	} catch (err) {
		setStatsBadge(err.name === 'TimeoutError' ? 'timeout' : 'unreachable', 'error');
		for (const c of Object.values(stats.charts)) c.push(null);
		stats.lastDropped = null;
		next = STATS_BACKOFF_MS;
	}
	statsBusy = false;
	statsTimer = setTimeout(pollStats, next);
}

/** Polls now instead of at the end of a backoff (the server is back). */
function kickStats() {
	if (statsBusy || !statsTimer) return;
	clearTimeout(statsTimer);
	pollStats();
}

/* ---- start ------------------------------------------------------------- */

function start() {
	ui.connUrl.value = defaultUrl();
	$('stats-url').textContent = stats.url.pathname;
	updateComposer();
	updateRoomHead();
	if (window.location.protocol === 'http:' || window.location.protocol === 'https:') {
		pollStats();
		conn.connect(ui.connUrl.value);
	} else {
		setStatsBadge('no server', 'error');
		logEvent('Open this page from the roomcast server to use it.', 'warn');
	}
}

start();
