// roomcast test page: the UI. The protocol (connection, reconnect,
// rejoin with recovery, seq gaps, request ids) is www/roomcast.js, the
// client library; this file only draws what it reports and turns the
// controls into its calls. No framework; everything the server sends is
// put in the page with textContent, never as HTML.

import { RoomcastClient, CLOSE_CODES, SUBPROTOCOL, jsonEqual } from './roomcast.js';
import { Sparkline } from './chart.js';
import { renderJson, fmtTime, fmtInt, fmtRate, fmtUptime } from './util.js';

const $ = (id) => document.getElementById(id);

const MAX_ITEMS_PER_ROOM = 500;
const MAX_LOG = 60;
const MAX_DM = 50;
const PING_EVERY_MS = 2000;
const RAW_TIMEOUT_MS = 10000;
const STATS_EVERY_MS = 1000;
const STATS_BACKOFF_MS = 5000;
const HISTORY_LIMIT = 50;

const rc = new RoomcastClient(defaultUrl(), { autoConnect: false });
const rooms = new Map();          // room_id -> the room's tab, pane and UI state
let activeRoom = null;            // room_id shown
let roomSerial = 0;
let rawPending = [];              // raw frames sent, waiting for a possible error
let countdownTimer = 0;
let pingTimer = 0;

const ui = {
	connForm: $('conn-form'), connUrl: $('conn-url'), connToken: $('conn-token'), connToggle: $('conn-toggle'),
	connState: $('conn-state'), connStateText: $('conn-state-text'), connRetry: $('conn-retry'),
	userId: $('user-id'), userEffective: $('user-effective'),
	joinForm: $('join-form'), roomId: $('room-id'), joinFeedback: $('join-feedback'),
	dmForm: $('dm-form'), dmTo: $('dm-to'), dmText: $('dm-text'), dmFeedback: $('dm-feedback'), dmLog: $('dm-log'),
	eventLog: $('event-log'),
	roomTitle: $('room-title'), roomMeta: $('room-meta'),
	membersBtn: $('members-btn'), historyBtn: $('history-btn'), leaveBtn: $('leave-btn'), closeBtn: $('close-btn'),
	membersPanel: $('members-panel'), membersList: $('members-list'), membersNote: $('members-note'),
	viewRaw: $('view-raw'),
	tabs: $('tabs'), panes: $('panes'), paneEmpty: $('pane-empty'),
	composer: $('composer'), input: $('composer-input'), hint: $('composer-hint'), sendBtn: $('send-btn'),
};

/** The default server URL: the page's own host, ws or wss to match. */
function defaultUrl(loc = window.location) {
	if (loc.protocol !== 'http:' && loc.protocol !== 'https:')
		return 'ws://127.0.0.1:8080/';
	return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/`;
}

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
	const known = CLOSE_CODES[code];
	const parts = [`code ${code}`];
	if (known) parts.push(known);
	if (reason && reason !== known) parts.push(`“${reason}”`);
	return parts.join(', ');
}

function renderConnState(d) {
	clearInterval(countdownTimer);
	ui.connState.dataset.state = d.state === 'authenticating' ? 'connecting' : d.state;
	ui.connRetry.hidden = d.state !== 'waiting';
	const wanted = rc.wanted;
	ui.connToggle.textContent = wanted ? 'Disconnect' : 'Connect';
	ui.connToggle.classList.toggle('btn-primary', !wanted);
	ui.connToggle.classList.toggle('btn-danger', wanted);
	switch (d.state) {
	case 'connecting':
		ui.connStateText.textContent = d.attempt ? `Reconnecting… (attempt ${d.attempt + 1})` : 'Connecting…';
		break;
	case 'authenticating':
		ui.connStateText.textContent = 'Authenticating…';
		break;
	case 'open':
		ui.connStateText.textContent = `Connected · ${rc.protocol || 'no subprotocol'}`;
		break;
	case 'waiting': {
		const tick = () => {
			const left = Math.max(0, rc.retryAt - Date.now());
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

rc.on('state', renderConnState);

rc.on('open', (d) => {
	logEvent(`Connected to ${d.url} (${d.protocol || 'no subprotocol'})`, 'ok');
	if (d.protocol !== SUBPROTOCOL)
		logEvent(`Server chose subprotocol “${d.protocol}”, expected ${SUBPROTOCOL}`, 'warn');
	showIdentity();
	// the library rejoins every room it keeps, with since/epoch
	for (const room of rooms.values()) {
		if (room.want) {
			room.state = 'joining';
			renderTab(room);
		}
	}
	startPings();
	kickStats();
});

rc.on('close', (d) => {
	stopPings();
	showIdentity();
	failRawPending();
	for (const room of rooms.values()) {
		if (room.state === 'joined' || room.state === 'joining') {
			room.state = room.want ? 'offline' : 'left';
			renderTab(room);
		}
	}
	updateRoomHead();
	let text = d.wasOpen ? `Disconnected (${closeText(d.code, d.reason)})` : `Could not connect (${closeText(d.code, d.reason)})`;
	if (d.willReconnect)
		text += `; retrying in ${(d.delay / 1000).toFixed(1)} s`;
	logEvent(text, d.code === 1000 ? 'info' : 'warn');
});

rc.on('invalid', (d) => {
	logEvent(`Server sent something that is not a JSON object: ${d.raw.slice(0, 80)}`, 'error');
});

ui.connForm.addEventListener('submit', (e) => {
	e.preventDefault();
	if (rc.wanted) {
		rc.close();
		return;
	}
	const url = ui.connUrl.value.trim() || defaultUrl();
	if (!/^wss?:\/\//i.test(url)) {
		logEvent(`“${url}” is not a ws:// or wss:// URL`, 'error');
		ui.connUrl.focus();
		return;
	}
	rc.url = url;
	rc.token = ui.connToken.value.trim() || null;
	rc.connect().catch(() => { /* the state line says why */ });
});

ui.connRetry.addEventListener('click', () => rc.retryNow());

rc.on('authed', (m) => logEvent(`Authenticated as ${m.user_id}${m.exp ? `, token valid until ${fmtTime(new Date(m.exp * 1000))}` : ''}`, 'ok'));

/* ---- identity ---------------------------------------------------------- */

function showIdentity() {
	const me = rc.isOpen ? rc.me : null;
	if (me)
		ui.userEffective.textContent = me.startsWith('guest-')
			? `Connected as ${me} (no user id given yet).`
			: `Connected as ${me}. Another id needs a new connection.`;
	else
		ui.userEffective.textContent = 'The server assigns an id at the first join.';
}

/** The user id to join with: the field, else the one already in use. */
function wantedUserId() {
	const v = ui.userId.value.trim();
	if (v) return v;
	return rc.me && !rc.me.startsWith('guest-') ? rc.me : null;
}

/* ---- raw frames ---------------------------------------------------------
 * The library matches the answers to its own requests by id. A raw frame
 * is the user's text, sent as it is: an error no request of the library
 * was waiting for is matched to the oldest raw frame of the type in its
 * `ref` (or, without `ref`, to the oldest raw frame).
 */

function failRawPending() {
	const old = rawPending;
	rawPending = [];
	for (const p of old) p.onTimeout();
}

setInterval(() => {
	const now = performance.now();
	const late = rawPending.filter((p) => now - p.at > RAW_TIMEOUT_MS);
	if (!late.length) return;
	rawPending = rawPending.filter((p) => now - p.at <= RAW_TIMEOUT_MS);
	for (const p of late) p.onTimeout();
}, 1000);

function takeRaw(err) {
	let i = -1;
	if (err.id !== undefined) i = rawPending.findIndex((p) => p.id === err.id);
	if (i < 0 && err.ref) i = rawPending.findIndex((p) => p.type === err.ref);
	if (i < 0 && !err.ref) i = 0;
	if (i < 0 || i >= rawPending.length) return null;
	return rawPending.splice(i, 1)[0];
}

rc.on('error', (err) => {
	if (err.room_id && rooms.has(err.room_id)) {
		// a re-join the library made on reconnect was refused
		const room = rooms.get(err.room_id);
		room.want = false;
		room.state = 'left';
		renderTab(room);
		appendError(room, err, 'rejoin');
		return;
	}
	const p = takeRaw(err);
	if (p) {
		p.onError(err);
		return;
	}
	logEvent(`Server error ${err.code}: ${err.serverMessage?.message ?? err.message}${err.ref ? ` (ref ${err.ref})` : ''}${err.id !== undefined ? ` (id ${JSON.stringify(err.id)})` : ''}`, 'error');
	const room = activeRoom && rooms.get(activeRoom);
	if (room) appendError(room, err, err.ref || 'message');
});

/* ---- rooms, tabs and panes -------------------------------------------- */

function getRoom(id, create = true) {
	let room = rooms.get(id);
	if (room || !create) return room;
	const n = ++roomSerial;
	room = {
		id, n, want: true, state: 'joining', members: null,
		seq: null, epoch: null, unread: 0,
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
		ui.membersBtn.disabled = ui.historyBtn.disabled = true;
		ui.membersPanel.hidden = true;
		return;
	}
	const lib = rc.rooms.get(room.id);
	const members = lib?.members ?? room.members;
	const seq = lib?.seq ?? room.seq;
	const epoch = lib?.epoch ?? room.epoch;
	ui.roomTitle.textContent = `# ${room.id}`;
	const meta = [];
	meta.push({ joined: 'joined', joining: 'joining…', offline: 'offline, will rejoin', left: 'not a member' }[room.state] || room.state);
	if (members !== null && members !== undefined)
		meta.push(`${members} member${members === 1 ? '' : 's'}${room.presenceSeen ? '' : ' at join'}`);
	if (seq !== null && seq !== undefined) meta.push(`seq ${seq}`);
	if (epoch) meta.push(`epoch ${epoch}`);
	ui.roomMeta.textContent = meta.join(' · ');
	ui.roomMeta.dataset.members = members ?? '';
	const member = room.state === 'joined';
	ui.leaveBtn.textContent = member || room.state === 'joining' ? 'Leave' : 'Rejoin';
	ui.leaveBtn.disabled = !rc.isOpen;
	ui.membersBtn.disabled = ui.historyBtn.disabled = !rc.isOpen || !member;
	ui.closeBtn.hidden = member;
	if (ui.membersPanel.dataset.room !== room.id) ui.membersPanel.hidden = true;
}

ui.leaveBtn.addEventListener('click', () => {
	const room = activeRoom && rooms.get(activeRoom);
	if (!room) return;
	if (room.state === 'joined' || room.state === 'joining') {
		room.want = false;
		rc.leave(room.id).then(() => onLeftUi(room.id), (err) => appendError(room, err, 'leave'));
	} else {
		joinRoom(room.id);
	}
});

ui.closeBtn.addEventListener('click', () => {
	if (activeRoom) removeRoom(activeRoom);
	(ui.tabs.querySelector('[aria-selected="true"]') || ui.roomId).focus();
});

/* ---- members and history ---------------------------------------------- */

ui.membersBtn.addEventListener('click', async () => {
	const room = activeRoom && rooms.get(activeRoom);
	if (!room) return;
	ui.membersPanel.hidden = false;
	ui.membersPanel.dataset.room = room.id;
	ui.membersNote.textContent = 'Asking the server…';
	ui.membersList.replaceChildren();
	try {
		const m = await rc.members(room.id);
		if (ui.membersPanel.dataset.room !== room.id) return;
		ui.membersNote.textContent = `${m.members} connection${m.members === 1 ? '' : 's'}, ${m.users.length} user${m.users.length === 1 ? '' : 's'}${m.truncated ? ' (list truncated)' : ''}`;
		for (const u of m.users) {
			const li = document.createElement('li');
			li.textContent = u;
			li.dataset.user = u;
			if (u === rc.me) li.classList.add('me');
			ui.membersList.append(li);
		}
	} catch (err) {
		ui.membersNote.replaceChildren(errorBox(err));
	}
});

ui.historyBtn.addEventListener('click', async () => {
	const room = activeRoom && rooms.get(activeRoom);
	if (!room) return;
	try {
		const msgs = await rc.history(room.id, HISTORY_LIMIT);
		const n = msgs.length;
		marker(room, 'history', n
			? `History: the server holds ${n} message${n === 1 ? '' : 's'} (last ${HISTORY_LIMIT} at most), below`
			: 'History: the server holds no messages for this room (history-size 0, or none sent)', { count: String(n) });
		for (const m of msgs) {
			const li = messageItem({ sender: m.sender ?? '?', seq: m.seq, content: m.content, mine: m.sender === rc.me, label: 'history', msg: m });
			li.classList.add('history');
			appendItem(room, li);
		}
		scrollToEnd(room, true);
	} catch (err) {
		appendError(room, err, 'history request');
	}
});

/* ---- view: pretty or raw JSON ----------------------------------------- */

function applyView() {
	ui.panes.dataset.view = ui.viewRaw.checked ? 'raw' : 'pretty';
}
ui.viewRaw.addEventListener('change', applyView);

async function copyText(text, btn) {
	let ok = false;
	try {
		await navigator.clipboard.writeText(text);
		ok = true;
	} catch {
		// no clipboard permission: select the text so the user can copy it
		const ta = document.createElement('textarea');
		ta.value = text;
		ta.setAttribute('aria-hidden', 'true');
		ta.className = 'sr-only';
		document.body.append(ta);
		ta.select();
		ok = document.execCommand('copy');
		ta.remove();
	}
	btn.textContent = ok ? 'Copied' : 'Copy failed';
	btn.dataset.copied = ok ? 'yes' : 'no';
	setTimeout(() => { btn.textContent = 'Copy'; delete btn.dataset.copied; }, 1500);
}

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

/**
 * A message in a pane: the pretty view (sender, seq, time, content) and the
 * raw view (the server message's JSON), one shown at a time (#view-raw),
 * and a button that copies the JSON of the view shown.
 */
function messageItem({ sender, seq, content, mine, label, msg = null }) {
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
	const json = msg ?? content;
	const copy = document.createElement('button');
	copy.type = 'button';
	copy.className = 'btn btn-small copy-btn';
	copy.textContent = 'Copy';
	copy.setAttribute('aria-label', 'Copy this message as JSON');
	copy.addEventListener('click', () => copyText(ui.viewRaw.checked
		? (typeof json === 'string' && !msg ? json : JSON.stringify(json))
		: JSON.stringify(json, null, 2), copy));
	head.append(copy);
	const raw = document.createElement('pre');
	raw.className = 'content content-raw';
	raw.textContent = typeof json === 'string' && !msg ? json : JSON.stringify(json);
	li.append(head, contentNode(content), raw);
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
	const said = err.serverMessage ? err.serverMessage.message : err.message;
	text.textContent = said ? ` ${said}` : '';
	box.append(code, text);
	if (err.ref) {
		const ref = document.createElement('span');
		ref.className = 'ref';
		ref.textContent = ` (ref: ${err.ref})`;
		box.append(ref);
	}
	if (err.id !== undefined && err.id !== null) {
		// the request id the server echoed: which request this answers
		const id = document.createElement('span');
		id.className = 'err-id';
		id.dataset.id = JSON.stringify(err.id);
		id.textContent = ` id ${JSON.stringify(err.id)}`;
		box.append(id);
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

/** Asks the library to join `id`; the `joined` event draws the result. */
function joinRoom(id) {
	const room = getRoom(id);
	room.want = true;
	rc.userId = wantedUserId();
	if (room.state !== 'joined') room.state = rc.isOpen ? 'joining' : 'offline';
	renderTab(room);
	rc.join(id).catch((err) => {
		if (err.code === 'closed') return;
		const still = rc.rooms.has(id);      // a refused re-join leaves it joined
		if (!still) {
			room.want = false;
			room.state = 'left';
		}
		renderTab(room);
		if (joinFeedbackFor === id) joinFeedbackFor = null;
		if (!still && room.list.children.length === 0) {
			removeRoom(id);
			showJoinFeedback(`Could not join “${id}”`, err);
		} else {
			appendError(room, err, 'join');
			showJoinFeedback(`Join “${id}” refused, see the room.`, null, { fade: true });
		}
	});
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
	joinRoom(id);
	if (!existed || activeRoom !== id) selectRoom(id);
	ui.roomId.value = '';
	if (!rc.isOpen) {
		showJoinFeedback(`Not connected: “${id}” will be joined when the connection opens.`);
		return;
	}
	joinFeedbackFor = id;
	showJoinFeedback(`Joining “${id}”…`);
});

/* ---- what the library reports ----------------------------------------- */

rc.on('joined', (m) => {
	const id = m.room_id;
	const room = getRoom(id);
	const wasJoined = room.state === 'joined' && !m.rejoin;
	room.state = 'joined';
	room.want = true;
	room.members = m.members ?? null;
	room.presenceSeen = false;
	showIdentity();
	if (!wasJoined) {
		const how = m.rejoin ? 'Rejoined' : 'Joined';
		marker(room, 'sys', `${how} as ${m.user_id ?? '?'} · ${room.members ?? '?'} member${room.members === 1 ? '' : 's'}`);
	}
	if (m.recovered === true) {
		const n = m.missed ?? 0;
		marker(room, 'sys', n > 0 ? `Recovered ${n} missed message${n === 1 ? '' : 's'}; replayed below.` : 'Recovered: nothing was missed.', { recovered: 'true' });
	} else if (m.recovered === false) {
		marker(room, 'sys', m.epochChanged
			? 'Recovery failed: the room was made anew (its epoch changed: it expired, or the server restarted without its history).'
			: 'Recovery failed: the server no longer holds every missed message (history-size, history-bytes, or too many to replay at once).', { recovered: 'false' });
	}
	if (id === joinFeedbackFor) {
		joinFeedbackFor = null;
		showJoinFeedback(`Joined “${id}”.`, null, { fade: true });
	}
	renderTab(room);
	updateComposer();
});

function onLeftUi(id, why = null) {
	const room = rooms.get(id);
	if (!room) return;
	room.want = false;
	room.state = 'left';
	room.members = null;
	marker(room, 'sys', why ? `The server took you out of this room (${why}).` : 'You left this room.');
	renderTab(room);
	updateComposer();
}

rc.on('left', (m) => { if (m.reason) onLeftUi(m.room_id, m.reason); });

rc.on('epoch', (e) => {
	const room = rooms.get(e.room_id);
	if (room)
		marker(room, 'epoch', `Room numbering restarted (epoch ${e.from} → ${e.to}); earlier messages are from before.`);
});

rc.on('gap', (g) => {
	const room = rooms.get(g.room_id);
	if (room) gapMarker(room, g.from, g.to, g.reason === 'reconnect' ? 'while you were away' : '(dropped for this connection)');
});

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

rc.on('broadcast', (m) => {
	const room = rooms.get(m.room_id);
	if (!room) {
		logEvent(`Broadcast for a room this page is not in: ${m.room_id}`, 'warn');
		return;
	}
	const mine = rc.me !== null && m.sender === rc.me;
	if (mine) {
		// our own message is back, with its seq: it replaces the pending copy
		const li = [...room.list.querySelectorAll('.msg.pending:not(.raw)')]
			.find((el) => el.pendingContent !== undefined && jsonEqual(el.pendingContent, m.content));
		li?.remove();
	}
	appendItem(room, messageItem({ sender: m.sender ?? '?', seq: m.seq, content: m.content, mine, msg: m }));
	if (room.id !== activeRoom) room.unread++;
	renderTab(room);
});

rc.on('presence', (m) => {
	const room = rooms.get(m.room_id);
	if (!room) return;
	room.presenceSeen = true;
	if (m.event === 'join') marker(room, 'presence', `${m.user_id} joined`);
	else if (m.event === 'leave') marker(room, 'presence', `${m.user_id} left`);
	renderTab(room);
});

rc.on('dropped', (m) => {
	const n = m.count;
	logDropped(n);
	for (const room of rooms.values()) {
		if (room.state !== 'joined') continue;
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
});

function dropText(n) {
	return `The server dropped ${n} message${n === 1 ? '' : 's'} for this slow connection (all its rooms)`;
}

/* ---- direct messages --------------------------------------------------- */

function dmItem(kind, who, content, err = null) {
	const li = document.createElement('li');
	li.className = `dm dm-${kind}`;
	const head = document.createElement('div');
	head.className = 'dm-head';
	const t = document.createElement('time');
	t.textContent = fmtTime(new Date());
	const w = document.createElement('span');
	w.className = 'dm-who';
	w.textContent = kind === 'in' ? `from ${who}` : `to ${who}`;
	head.append(w, t);
	li.append(head, contentNode(content));
	if (err) li.append(errorBox(err));
	ui.dmLog.prepend(li);
	while (ui.dmLog.children.length > MAX_DM) ui.dmLog.lastElementChild.remove();
	return li;
}

rc.on('direct', (m) => {
	dmItem('in', m.from, m.content);
	logEvent(`Direct message from ${m.from}`, 'info');
});

ui.dmForm.addEventListener('submit', async (e) => {
	e.preventDefault();
	const to = ui.dmTo.value.trim();
	const text = ui.dmText.value;
	if (!to || text === '') {
		ui.dmFeedback.textContent = 'A user id and a message, please.';
		return;
	}
	if (!rc.isOpen) {
		ui.dmFeedback.textContent = 'Not connected.';
		return;
	}
	const { content } = parseComposer(text, 'auto');
	ui.dmText.value = '';
	ui.dmFeedback.textContent = `Sending to ${to}…`;
	const li = dmItem('out', to, content);
	li.classList.add('pending');
	try {
		await rc.direct(to, content);
		li.classList.remove('pending');
		li.dataset.status = 'sent';
		ui.dmFeedback.textContent = `Delivered to ${to}'s connections.`;
	} catch (err) {
		li.classList.remove('pending');
		li.classList.add('failed');
		li.dataset.status = 'failed';
		li.append(errorBox(err));
		ui.dmFeedback.textContent = `Not delivered: ${err.code}.`;
	}
});

/* ---- round trip time ------------------------------------------------- */

const rtt = { el: $('stat-rtt'), chart: new Sparkline($('chart-rtt'), { capacity: 30, format: (v) => `${Math.round(v)} ms` }) };

function startPings() {
	stopPings();
	const ping = () => {
		if (!rc.isOpen) return;
		rc.ping().then((ms) => {
			rtt.el.textContent = ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
			rtt.chart.push(ms);
		}, () => rtt.chart.push(null));
	};
	ping();
	pingTimer = setInterval(ping, PING_EVERY_MS);
}

function stopPings() {
	clearInterval(pingTimer);
	pingTimer = 0;
	rtt.el.textContent = '–';
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
	if (!rc.isOpen)
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
	ui.sendBtn.disabled = !rc.isOpen || text === '' || (mode !== 'raw' && !room);
}

function sendRawFrame(text, room) {
	let parsed = null;
	try { parsed = JSON.parse(text); } catch { /* raw on purpose */ }
	const obj = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : null;
	const li = messageItem({ sender: rc.me ?? 'you', content: text, mine: true, label: 'raw frame' });
	li.classList.add('pending', 'raw');
	if (room) appendItem(room, li);
	rc.sendRaw(text);
	setItemStatus(li, 'sent', 'sent');
	rawPending.push({
		at: performance.now(),
		type: typeof obj?.type === 'string' ? obj.type : null,
		id: obj?.id,
		onError: (err) => {
			if (room) attachError(li, err);
			else {
				logEvent(`Raw frame refused: ${err.code}`, 'error');
				showJoinFeedback('Raw frame refused', err);
			}
		},
		onTimeout: () => { li.classList.remove('pending'); setItemStatus(li, 'no error from the server', 'ok'); },
	});
}

function send() {
	const text = ui.input.value;
	const mode = composerMode();
	if (!rc.isOpen || text === '') return;
	const room = activeRoom && rooms.get(activeRoom);
	if (mode === 'raw') {
		sendRawFrame(text, room);
	} else {
		const { content } = parseComposer(text, mode);
		const li = messageItem({ sender: rc.me ?? 'you', content, mine: true });
		li.classList.add('pending');
		li.pendingContent = content;
		setItemStatus(li, 'sending…', 'pending');
		appendItem(room, li);
		scrollToEnd(room, true);
		rc.broadcast(room.id, content).then(() => {
			// the echo replaced this copy; still here: the echo was dropped
			if (li.isConnected) { li.classList.remove('pending'); setItemStatus(li, 'sent (its echo was dropped)', 'warn'); }
		}, (err) => {
			if (err.code === 'timeout' || err.code === 'closed' || err.code === 'not_connected') {
				li.classList.remove('pending');
				setItemStatus(li, `not confirmed: ${err.code === 'timeout' ? 'no answer from the server' : 'the connection closed'}`, 'warn');
			} else {
				attachError(li, err);
			}
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
	applyView();
	updateComposer();
	updateRoomHead();
	if (window.location.protocol === 'http:' || window.location.protocol === 'https:') {
		pollStats();
		rc.url = ui.connUrl.value;
		rc.connect().catch(() => { /* the state line says why */ });
	} else {
		setStatsBadge('no server', 'error');
		logEvent('Open this page from the roomcast server to use it.', 'warn');
	}
}

start();
