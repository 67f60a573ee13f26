// Types for roomcast.js (docs/PROTOCOL.md, protocol roomcast.v1.1).

export const SUBPROTOCOL: 'roomcast.v1';
export const PROTOCOL_VERSION: 'roomcast.v1.1';
export const CLOSE_CODES: Readonly<Record<number, string>>;

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A request id: the library uses integers; give raw frames string ids. */
export type RequestId = string | number;

export interface WebSocketLike {
	readonly readyState: number;
	readonly protocol: string;
	onopen: ((ev: unknown) => void) | null;
	onmessage: ((ev: { data: unknown }) => void) | null;
	onclose: ((ev: { code: number; reason: string }) => void) | null;
	onerror: ((ev: unknown) => void) | null;
	send(data: string): void;
	close(code?: number, reason?: string): void;
}
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface RoomcastOptions {
	/** The WebSocket class: the global one in browsers, npm `ws` in Node. */
	WebSocket?: WebSocketCtor;
	/** Sent with every join; empty: the server's guest-<conn_id>. */
	userId?: string;
	/** A JWT, sent as the first message ({"type":"auth"}) or in the URL. */
	token?: string;
	/** Called for a token before connecting without one, and `refreshBeforeS` before `exp`. */
	getToken?: () => string | Promise<string>;
	/** Seconds before `exp` to refresh the token (default 30). */
	refreshBeforeS?: number;
	/** Send the token as ?token= on the upgrade URL instead of an auth message (default false). */
	tokenInUrl?: boolean;
	/** Reconnect after a close (default true); never after 4005, nor after 4003/4004 without getToken. */
	reconnect?: boolean;
	/** Backoff: delay = cap/2 + random * cap/2, cap = min(maxMs, baseMs * 2^attempt). */
	backoff?: { baseMs?: number; maxMs?: number };
	/** How long a request waits for its answer (default 10000 ms). */
	requestTimeoutMs?: number;
	/** Connect from the constructor (default true). */
	autoConnect?: boolean;
	/** Subprotocols to offer (default 'roomcast.v1'). */
	protocols?: string | string[];
}

export type ConnectionState = 'idle' | 'connecting' | 'authenticating' | 'open' | 'waiting' | 'stopped';

export interface JoinedMessage {
	type: 'joined'; room_id: string; user_id: string; members: number;
	seq: number; epoch: string; recovered?: boolean; id?: RequestId;
}
export interface LeftMessage { type: 'left'; room_id: string; reason?: string; id?: RequestId }
export interface BroadcastMessage {
	type: 'broadcast'; room_id: string; sender: string;
	/** null only in a broadcast() result whose own echo the server dropped. */
	seq: number | null; content: Json;
}
export interface MembersMessage {
	type: 'members'; room_id: string; members: number; users: string[];
	truncated?: boolean; id?: RequestId;
}
export interface PresenceMessage { type: 'presence'; event: 'join' | 'leave'; room_id: string; user_id: string }
export interface DirectMessage { type: 'direct'; from: string; content: Json }
export interface AuthedMessage { type: 'authed'; user_id: string; exp: number; id?: RequestId }
export interface ErrorMessage {
	type: 'error'; code: string; message: string; ref?: string; id?: RequestId;
}
export type ServerMessage = { type: string; [key: string]: unknown };

export interface RoomState {
	id: string;
	/** Rejoined on reconnect. */
	wanted: boolean;
	joined: boolean;
	/** The last seq received in this room. */
	seq: number | null;
	epoch: string | null;
	members: number | null;
}

export interface RoomcastEvents {
	state: { state: ConnectionState; attempt: number; delay?: number; code?: number; reason?: string };
	open: { url: string; protocol: string };
	close: { code: number; reason: string; wasOpen: boolean; willReconnect: boolean; delay: number };
	message: ServerMessage;
	/**
	 * `missed`: how many messages a recovering rejoin replays (recovered
	 * true); `epochChanged`: the room's numbering started over since the
	 * last join (recovery could not work).
	 */
	joined: JoinedMessage & { rejoin: boolean; missed?: number; epochChanged: boolean };
	left: LeftMessage;
	broadcast: BroadcastMessage;
	presence: PresenceMessage;
	direct: DirectMessage;
	dropped: { type: 'dropped'; count: number };
	gap: { room_id: string; from: number; to: number; count: number; reason: 'dropped' | 'reconnect' };
	epoch: { room_id: string; from: string | null; to: string };
	authed: AuthedMessage;
	error: RoomcastError;
	invalid: { raw: string };
}

export class RoomcastError extends Error {
	constructor(code: string, message: string, extra?: { ref?: string; id?: RequestId; serverMessage?: object });
	/** The protocol's error code, or 'closed' | 'timeout' | 'not_connected' | 'refresh_failed'. */
	code: string;
	ref?: string;
	id?: RequestId;
	serverMessage?: ErrorMessage;
	/** The room of a refused join. */
	room_id?: string;
}

export class RoomcastClient {
	constructor(url: string, opts?: RoomcastOptions);
	readonly url: string;
	readonly rooms: Map<string, RoomState>;
	/** The user id the server gave this connection (from joined / authed). */
	readonly me: string | null;
	userId: string | null;
	readonly state: ConnectionState;
	readonly isOpen: boolean;
	readonly protocol: string;
	/** Date.now() at which the next reconnect attempt starts (state 'waiting'). */
	readonly retryAt: number;

	on<K extends keyof RoomcastEvents>(type: K, fn: (ev: RoomcastEvents[K]) => void): () => void;
	off<K extends keyof RoomcastEvents>(type: K, fn: (ev: RoomcastEvents[K]) => void): void;

	connect(): Promise<void>;
	waitOpen(): Promise<void>;
	close(code?: number, reason?: string): void;
	retryNow(): void;

	join(roomId: string): Promise<JoinedMessage>;
	leave(roomId: string): Promise<LeftMessage>;
	broadcast(roomId: string, content: Json): Promise<BroadcastMessage>;
	members(roomId: string): Promise<MembersMessage>;
	history(roomId: string, limit?: number): Promise<BroadcastMessage[]>;
	direct(to: string, content: Json): Promise<void>;
	ping(): Promise<number>;
	auth(token: string): Promise<AuthedMessage>;

	/** Sends a request with a fresh integer id; resolves with its answer. */
	request(msg: { type: string; [key: string]: unknown }): Promise<ServerMessage>;
	send(obj: object): boolean;
	sendRaw(text: string): boolean;
}

export function backoffDelay(attempt: number, opts?: { baseMs?: number; maxMs?: number }, rnd?: () => number): number;
export function jsonEqual(a: unknown, b: unknown): boolean;
export function tokenExp(token: string): number | null;
