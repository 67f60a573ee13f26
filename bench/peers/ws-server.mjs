// Peer for roomcast's benchmark: Node + the `ws` package (npm).
//   node ws-server.mjs --port N [--mode roomcast|raw]
// roomcast: the subset of docs/PROTOCOL.md the load generator uses
//   (join/joined with seq, leave, broadcast to every member incl. the sender
//   with the room's seq, ping/pong), each broadcast serialized once.
// raw: every text message is relayed as-is to every open connection.
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const port = Number(opt('--port', '8090'));
const mode = opt('--mode', 'roomcast');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  clientTracking: true,
  handleProtocols: (protocols) => (protocols.has('roomcast.v1') ? 'roomcast.v1' : false),
});

let nextConn = 1;
let epochN = 0;
const rooms = new Map(); // room_id -> { members: Set<ws>, seq, epoch }

function send(ws, obj) {
  ws.send(JSON.stringify(obj));
}

function leaveAll(ws) {
  for (const r of ws.rooms) {
    const room = rooms.get(r);
    if (!room) continue;
    room.members.delete(ws);
    if (room.members.size === 0) rooms.delete(r);
  }
  ws.rooms.clear();
}

wss.on('connection', (ws) => {
  ws.connId = nextConn++;
  ws.userId = null;
  ws.rooms = new Set();
  ws.on('close', () => leaveAll(ws));
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    if (mode === 'raw') {
      if (isBinary) return;
      const s = data.toString();
      for (const c of wss.clients) if (c.readyState === 1) c.send(s);
      return;
    }
    if (isBinary) return send(ws, { type: 'error', code: 'bad_frame', message: 'binary' });
    let m;
    try { m = JSON.parse(data.toString()); } catch { m = null; }
    if (!m || typeof m !== 'object' || Array.isArray(m))
      return send(ws, { type: 'error', code: 'bad_json', message: 'not a JSON object' });
    switch (m.type) {
      case 'join': {
        if (typeof m.room_id !== 'string') return send(ws, { type: 'error', code: 'missing_field', message: 'room_id', ref: 'join' });
        if (!ws.userId) ws.userId = typeof m.user_id === 'string' ? m.user_id : `guest-${ws.connId}`;
        let room = rooms.get(m.room_id);
        if (!room) { room = { members: new Set(), seq: 0, epoch: `n${++epochN}` }; rooms.set(m.room_id, room); }
        room.members.add(ws);
        ws.rooms.add(m.room_id);
        return send(ws, { type: 'joined', room_id: m.room_id, user_id: ws.userId, members: room.members.size, seq: room.seq, epoch: room.epoch });
      }
      case 'leave': {
        const room = rooms.get(m.room_id);
        if (!room || !room.members.has(ws)) return send(ws, { type: 'error', code: 'not_member', message: 'not a member', ref: 'leave' });
        room.members.delete(ws);
        ws.rooms.delete(m.room_id);
        if (room.members.size === 0) rooms.delete(m.room_id);
        return send(ws, { type: 'left', room_id: m.room_id });
      }
      case 'broadcast': {
        const room = rooms.get(m.room_id);
        if (!room || !room.members.has(ws)) return send(ws, { type: 'error', code: 'not_member', message: 'not a member', ref: 'broadcast' });
        room.seq++;
        const out = JSON.stringify({ type: 'broadcast', room_id: m.room_id, sender: ws.userId || `guest-${ws.connId}`, seq: room.seq, content: m.content });
        for (const c of room.members) if (c.readyState === 1) c.send(out);
        return;
      }
      case 'ping':
        return send(ws, m.id !== undefined ? { type: 'pong', id: m.id } : { type: 'pong' });
      default:
        return send(ws, { type: 'error', code: 'unknown_type', message: 'unknown type' });
    }
  });
});

wss.on('listening', () => console.error(`ws-server (${mode}) listening on 127.0.0.1:${port}`));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { for (const c of wss.clients) c.terminate(); process.exit(0); });
