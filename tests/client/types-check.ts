// Compiled (never run) by roomcast.test.js with tsc --noEmit --strict:
// www/roomcast.d.ts must describe the library as a user calls it.
import {
	RoomcastClient, RoomcastError, PROTOCOL_VERSION, backoffDelay,
	type JoinedMessage, type BroadcastMessage, type WebSocketCtor,
} from '../../www/roomcast.js';

declare const WebSocket: WebSocketCtor;   // npm ws, or the browser's

const rc = new RoomcastClient('ws://127.0.0.1:8080/', {
	WebSocket,
	userId: 'alice',
	getToken: async () => 'jwt',
	backoff: { baseMs: 500, maxMs: 15000 },
});
const v: 'roomcast.v1.1' = PROTOCOL_VERSION;
const off: () => void = rc.on('broadcast', (m: BroadcastMessage) => { const s: number | null = m.seq; void s; });
rc.on('gap', (g) => { const n: number = g.count; const why: 'dropped' | 'reconnect' = g.reason; void n; void why; });
rc.on('close', (c) => { const again: boolean = c.willReconnect; void again; });
rc.on('error', (e: RoomcastError) => { const code: string = e.code; void code; });
async function main(): Promise<void> {
	const j: JoinedMessage = await rc.join('lobby');
	const seq: number = j.seq;
	const users: string[] = (await rc.members('lobby')).users;
	const hist: BroadcastMessage[] = await rc.history('lobby', 10);
	await rc.direct('bob', { hi: true });
	const ms: number = await rc.ping();
	await rc.broadcast('lobby', { n: [1, 'two', null] });
	await rc.leave('lobby');
	void seq; void users; void hist; void ms;
}
void main; void off; void v;
const d: number = backoffDelay(3);
void d;
// wrong uses are type errors
// @ts-expect-error a room id is a string
void rc.join(42);
// @ts-expect-error no such event
rc.on('nope', () => {});
// @ts-expect-error history's limit is a number
void rc.history('lobby', '10');
rc.close();
