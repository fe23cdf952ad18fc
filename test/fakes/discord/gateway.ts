/**
 * The fake's gateway: Discord's WebSocket protocol (v10, JSON, no
 * compression) as discord.js speaks it. HELLO, IDENTIFY (token and intents
 * checked), READY listing the guilds as unavailable, then a GUILD_CREATE for
 * each, heartbeat ACKs, and dispatches filtered by the intents the client
 * asked for — without Message Content, guild messages that don't mention the
 * bot arrive with empty content, as on Discord. Sessions can be told to
 * reconnect (op 7) or that they are invalid (op 9), and a RESUME of a known
 * session is answered with RESUMED, as Discord does. IDENTIFY's `shard`
 * ([id, count], default [0, 1]) is honoured: a session hears only of the
 * guilds with `(guild_id >> 22) % count === id`, DMs go to shard 0, a bad
 * shard is closed with 4010 and too many guilds on one shard with 4011.
 */
import type { Server } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { guildJson, userJson } from "./payloads.js";
import { randomToken, shardOf } from "./snowflake.js";
import type { DiscordWorld } from "./world.js";

export const Intent = {
  Guilds: 1 << 0,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
} as const;

/** Intents that need switching on in the developer portal: Guild Members, Guild Presences, Message Content. */
const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15);

const Op = { Dispatch: 0, Heartbeat: 1, Identify: 2, Resume: 6, Reconnect: 7, InvalidSession: 9, Hello: 10, HeartbeatAck: 11 } as const;

/** What a dispatch needs from a session to be delivered. */
export type Audience = "guild" | "guild-message" | "dm-message" | "interaction";

interface Session {
  socket: WebSocket;
  /** READY's session_id, for RESUME. */
  id: string;
  ready: boolean;
  intents: number;
  seq: number;
  heartbeatWaiters: (() => void)[];
  /** IDENTIFY's [shard id, shard count]. */
  shard: [number, number];
}

/** Changes a dispatch's payload before it is sent, e.g. to leave out optional fields as another server might. */
export type DispatchTransform = (event: string, d: Record<string, unknown>) => Record<string, unknown>;

/** An IDENTIFY as the fake received it (token left out). */
export interface IdentifyRecord {
  intents: number;
  properties: unknown;
  shard: unknown;
}

export class FakeGateway {
  private readonly sessions = new Set<Session>();
  private readonly wss: WebSocketServer;
  readonly identifies: IdentifyRecord[] = [];
  /** Every op 1 the clients sent, counted, to prove the connection stays alive. */
  heartbeatsReceived = 0;
  /** Every RESUME that was accepted. */
  resumes = 0;
  /** Sessions by id that a client may resume after its connection closed. */
  private readonly resumable = new Map<string, { intents: number; seq: number; shard: [number, number] }>();

  constructor(
    server: Server,
    private readonly world: DiscordWorld,
    private readonly heartbeatIntervalMs: number,
    private readonly resumeUrl: () => string,
    /** The privileged intents "switched on in the portal". */
    private readonly enabledPrivilegedIntents: number,
    /** More guilds than this on one shard and IDENTIFY is closed with 4011, as Discord does from 2,500. */
    private readonly maxGuildsPerShard: number,
    private readonly transform: DispatchTransform = (_event, d) => d,
  ) {
    this.wss = new WebSocketServer({ server, path: "/gateway" });
    this.wss.on("connection", (socket) => this.open(socket));
  }

  /** Sessions that got READY: the bots connected now. */
  get readyCount(): number {
    return [...this.sessions].filter((s) => s.ready).length;
  }

  /**
   * Sends a dispatch to every ready session whose intents cover it and whose
   * shard holds `guildId` (shard 0 for events outside guilds, such as DMs).
   * Returns how many got it. `adapt` may change the payload per session
   * (content without the Message Content intent).
   */
  dispatch(
    t: string,
    d: Record<string, unknown>,
    audience: Audience,
    guildId: string | undefined,
    adapt?: (d: Record<string, unknown>, intents: number) => Record<string, unknown>,
  ): number {
    let delivered = 0;
    for (const session of this.sessions) {
      if (!session.ready || !wants(session.intents, audience) || !holds(session, guildId)) continue;
      this.sendDispatch(session, t, adapt ? adapt(d, session.intents) : d);
      delivered++;
    }
    return delivered;
  }

  /** Op 7: every ready client must reconnect and resume, as when Discord moves a session. */
  requestReconnect(): void {
    for (const session of this.sessions) if (session.ready) this.send(session, { op: Op.Reconnect, d: null });
  }

  /** Op 9: every ready session is invalid; `resumable` says whether a RESUME may still work. */
  invalidateSessions(resumable: boolean): void {
    for (const session of this.sessions) {
      if (!session.ready) continue;
      if (!resumable) {
        this.resumable.delete(session.id);
        session.ready = false;
      }
      this.send(session, { op: Op.InvalidSession, d: resumable });
    }
  }

  /**
   * Resolves once every ready client has answered a heartbeat request sent
   * after everything dispatched so far: the client has read (and discord.js
   * has emitted) all earlier dispatches by then, since a socket is ordered.
   */
  async sync(timeoutMs = 15_000): Promise<void> {
    const waits = [...this.sessions]
      .filter((s) => s.ready)
      .map(
        (session) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("fake gateway: the client did not answer a heartbeat request")), timeoutMs);
            session.heartbeatWaiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
            this.send(session, { op: Op.Heartbeat, d: null });
          }),
      );
    await Promise.all(waits);
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.socket.terminate();
    this.sessions.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private open(socket: WebSocket): void {
    const session: Session = { socket, id: "", ready: false, intents: 0, seq: 0, heartbeatWaiters: [], shard: [0, 1] };
    this.sessions.add(session);
    socket.on("close", () => {
      this.sessions.delete(session);
      const kept = session.id ? this.resumable.get(session.id) : undefined;
      if (kept) kept.seq = session.seq;
    });
    socket.on("message", (raw) => this.receive(session, raw.toString()));
    this.send(session, { op: Op.Hello, d: { heartbeat_interval: this.heartbeatIntervalMs } });
  }

  private receive(session: Session, raw: string): void {
    let payload: { op?: number; d?: unknown };
    try {
      payload = JSON.parse(raw) as { op?: number; d?: unknown };
    } catch {
      session.socket.close(4002, "Error while decoding payload.");
      return;
    }
    switch (payload.op) {
      case Op.Heartbeat: {
        this.heartbeatsReceived++;
        this.send(session, { op: Op.HeartbeatAck });
        for (const waiter of session.heartbeatWaiters.splice(0)) waiter();
        return;
      }
      case Op.Identify:
        this.identify(session, (payload.d ?? {}) as { token?: string; intents?: number; properties?: unknown; shard?: unknown });
        return;
      case Op.Resume:
        this.resume(session, (payload.d ?? {}) as { token?: string; session_id?: string; seq?: number });
        return;
      default:
        return; // presence updates and the like need no answer
    }
  }

  private identify(session: Session, d: { token?: string; intents?: number; properties?: unknown; shard?: unknown }): void {
    if (d.token !== this.world.token) {
      session.socket.close(4004, "Authentication failed.");
      return;
    }
    if (typeof d.intents !== "number") {
      session.socket.close(4013, "Invalid intent(s).");
      return;
    }
    if (d.intents & PRIVILEGED_INTENTS & ~this.enabledPrivilegedIntents) {
      session.socket.close(4014, "Disallowed intent(s).");
      return;
    }
    const shard = d.shard === undefined ? [0, 1] : d.shard;
    if (!validShard(shard)) {
      session.socket.close(4010, "Invalid shard.");
      return;
    }
    const guilds = [...this.world.guilds.values()].filter((g) => this.world.botIn(g.id) && shardOf(g.id, shard[1]) === shard[0]);
    if (guilds.length > this.maxGuildsPerShard) {
      session.socket.close(4011, "Sharding required.");
      return;
    }
    this.identifies.push({ intents: d.intents, properties: d.properties, shard: d.shard });
    session.intents = d.intents;
    session.shard = shard;
    session.ready = true;
    session.id = randomToken(32);
    this.resumable.set(session.id, { intents: session.intents, seq: 0, shard });
    this.sendDispatch(session, "READY", {
      v: 10,
      user: { ...userJson(this.world.bot), verified: true, mfa_enabled: false, flags: 0 },
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.resumeUrl(),
      shard,
      application: { id: this.world.applicationId, flags: 1 << 19 },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      user_settings: {},
      geo_ordered_rtc_regions: [],
      _trace: ["fake-discord"],
    });
    if (session.intents & Intent.Guilds) {
      for (const guild of guilds) this.sendDispatch(session, "GUILD_CREATE", guildJson(this.world, guild, true));
    }
  }

  /** RESUME of a session this fake knows: RESUMED (nothing was missed here); otherwise op 9, identify afresh. */
  private resume(session: Session, d: { token?: string; session_id?: string; seq?: number }): void {
    const kept = d.session_id ? this.resumable.get(d.session_id) : undefined;
    if (d.token !== this.world.token || !kept || !d.session_id) {
      this.send(session, { op: Op.InvalidSession, d: false });
      return;
    }
    this.resumes++;
    session.id = d.session_id;
    session.intents = kept.intents;
    session.shard = kept.shard;
    session.seq = Math.max(kept.seq, d.seq ?? 0);
    session.ready = true;
    this.sendDispatch(session, "RESUMED", {});
  }

  private sendDispatch(session: Session, t: string, d: Record<string, unknown>): void {
    this.send(session, { op: Op.Dispatch, t, s: ++session.seq, d: this.transform(t, d) });
  }

  private send(session: Session, payload: Record<string, unknown>): void {
    if (session.socket.readyState === session.socket.OPEN) session.socket.send(JSON.stringify(payload));
  }
}

/** `[id, count]` with 0 <= id < count, as Discord accepts. */
function validShard(shard: unknown): shard is [number, number] {
  if (!Array.isArray(shard) || shard.length !== 2) return false;
  const [id, count] = shard as unknown[];
  return Number.isInteger(id) && Number.isInteger(count) && (id as number) >= 0 && (id as number) < (count as number);
}

/** Whether the session's shard gets a guild's events; everything outside guilds goes to shard 0. */
function holds(session: Session, guildId: string | undefined): boolean {
  const [id, count] = session.shard;
  return guildId === undefined ? id === 0 : shardOf(guildId, count) === id;
}

function wants(intents: number, audience: Audience): boolean {
  switch (audience) {
    case "guild":
      return (intents & Intent.Guilds) !== 0;
    case "guild-message":
      return (intents & Intent.GuildMessages) !== 0;
    case "dm-message":
      return (intents & Intent.DirectMessages) !== 0;
    case "interaction":
      return true; // interactions need no intent
  }
}
