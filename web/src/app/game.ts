// What a player's browser knows of the battle, and its connection to the gateway. Outside Angular:
// the component reads it (signals for the HUD, the canvas every frame).
//
// The connection: a WebSocket to the page's own origin (/play), binary frames, one client-protocol
// message each (codec.ts). It says Hello (with the last Welcome's entity and token when it has one,
// so that a reconnect takes the same avatar back), then sends one Input a tick while it plays.
// A closed connection is retried by itself after a short pause, with the resume.
// Login (accounts) goes in front of connect() once the gateway accepts it; nothing here assumes a
// Hello is the first and only thing said.

import {
  CLIENT_UNIT_MM,
  CHANGED_FLAGS,
  CHANGED_HP,
  CHANGED_MOTION,
  CHANGED_POS,
  CHANGED_TARGET,
  CHANGED_TEAM,
  decodeGateway,
  encodeHello,
  encodeInput,
  FLAG_DEAD,
  Far,
  Seen,
  Update,
} from './codec';

export const TICK_MS = 100;
export const SKILL_SLOTS = 4; // keys 1..4
export const LOG_LINES_MAX = 40;
export const RECONNECT_DELAY_MS = 1000;

export interface Entity {
  seen: Seen;
  // Interpolation: drawn from (fromX, fromY) at `since` to (seen.xCm, seen.yCm) one tick later.
  fromX: number;
  fromY: number;
  since: number;
  maxHp: number;
  diedAt: number | null;
}

export type Phase = 'connecting' | 'waiting' | 'playing' | 'reconnecting';

export class Game {
  readonly entities = new Map<number, Entity>(); // by slot
  far: Far[] = [];
  self: bigint = 0n;
  tickHz = 10;
  viewRadiusMm = 50_000;
  tick = 0;
  cooldownTicks = 0;
  cooldownAt = 0; // when cooldownTicks was heard (ms)
  target: bigint = 0n;
  phase: Phase = 'connecting';
  notice = '';
  log: string[] = [];
  updates = 0;
  onChange: () => void = () => {};

  private ws: WebSocket | null = null;
  private resumeEntity = 0n;
  private resumeToken = 0n;
  private seq = 0;
  private inputTimer: ReturnType<typeof setInterval> | null = null;
  private pendingSkill = 0;
  private readonly keys = new Set<string>();
  private stopped = false;

  constructor(private readonly url: string, private readonly name: string) {}

  connect(): void {
    this.stopped = false;
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.phase = 'waiting';
      ws.send(encodeHello({ name: this.name, resumeEntity: this.resumeEntity, resumeToken: this.resumeToken }));
      this.onChange();
    };
    ws.onmessage = (ev) => this.receive(new Uint8Array(ev.data as ArrayBuffer));
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.stopInputs();
      this.ws = null;
      if (this.stopped) return;
      this.phase = 'reconnecting';
      if (!this.notice) this.notice = `connection lost${ev.reason ? ': ' + ev.reason : ''}; reconnecting`;
      this.onChange();
      setTimeout(() => this.connect(), RECONNECT_DELAY_MS);
    };
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close(1000, 'leaving');
  }

  me(): Entity | undefined {
    for (const e of this.entities.values()) if (e.seen.id === this.self) return e;
    return undefined;
  }
  find(id: bigint): Entity | undefined {
    if (id === 0n) return undefined;
    for (const e of this.entities.values()) if (e.seen.id === id) return e;
    return undefined;
  }
  cooldownLeftMs(now: number): number {
    return Math.max(0, this.cooldownTicks * (1000 / this.tickHz) - (now - this.cooldownAt));
  }

  // --- input ---
  keyDown(key: string): void {
    this.keys.add(key);
  }
  keyUp(key: string): void {
    this.keys.delete(key);
  }
  // The skill goes at the target; with none, at the nearest enemy; with no enemy in view, at
  // ourselves (a self or ally skill; the server refuses what does not fit, as for anyone).
  useSkill(slot: number): void {
    if (!this.find(this.target)) this.targetNearestEnemy();
    this.pendingSkill = slot;
  }
  select(id: bigint): void {
    this.target = id;
    this.onChange();
  }
  targetNearestEnemy(): void {
    const me = this.me();
    if (!me) return;
    let best: Entity | undefined;
    let bestD = Infinity;
    for (const e of this.entities.values()) {
      if (e.seen.team === me.seen.team || e.seen.flags & FLAG_DEAD) continue;
      const d = (e.seen.xCm - me.seen.xCm) ** 2 + (e.seen.yCm - me.seen.yCm) ** 2;
      if (d < bestD || (d === bestD && best && e.seen.id < best.seen.id)) {
        best = e;
        bestD = d;
      }
    }
    this.target = best ? best.seen.id : 0n;
    this.onChange();
  }

  private startInputs(): void {
    if (this.inputTimer) return;
    this.inputTimer = setInterval(() => this.sendInput(), TICK_MS);
  }
  private stopInputs(): void {
    if (this.inputTimer) clearInterval(this.inputTimer);
    this.inputTimer = null;
  }
  private sendInput(): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || this.phase !== 'playing') return;
    let x = 0;
    let y = 0;
    if (this.keys.has('a') || this.keys.has('arrowleft')) x -= 1;
    if (this.keys.has('d') || this.keys.has('arrowright')) x += 1;
    if (this.keys.has('w') || this.keys.has('arrowup')) y += 1;
    if (this.keys.has('s') || this.keys.has('arrowdown')) y -= 1;
    const norm = x !== 0 && y !== 0 ? 707 : 1000;
    // The gateway refuses a target the client cannot see: send only one that is in view.
    const skill = this.pendingSkill;
    const target = this.find(this.target) ? this.target : skill ? this.self : 0n;
    this.pendingSkill = 0;
    this.ws.send(encodeInput({ seq: ++this.seq, moveX: x * norm, moveY: y * norm, target, skill }));
    if (skill) this.addLog(`you use skill ${skill} on #${target}`);
  }

  // --- what the gateway says ---
  private receive(bytes: Uint8Array): void {
    let m;
    try {
      m = decodeGateway(bytes);
    } catch (e) {
      // A gateway that sends what we cannot read: say so and start over.
      this.notice = `unreadable message from the gateway (${(e as Error).message})`;
      this.ws?.close(1002, 'unreadable message');
      return;
    }
    switch (m.type) {
      case 'welcome':
        this.self = m.entity;
        this.tickHz = m.tickHz || 10;
        this.viewRadiusMm = m.viewRadiusMm;
        this.resumeEntity = m.entity;
        this.resumeToken = m.resumeToken;
        this.phase = 'playing';
        this.notice = '';
        this.entities.clear();
        this.seq = 0;
        this.addLog(`you are #${m.entity}`);
        this.startInputs();
        break;
      case 'update':
        this.apply(m.update);
        break;
      case 'goodbye':
        this.notice = `the gateway said goodbye: ${m.reason}`;
        this.addLog(this.notice);
        break;
      case 'redirect':
        // A TCP gateway's address is no use to a browser: resume here, where the WebSocket is.
        this.notice = 'moving to another gateway';
        break;
    }
    this.onChange();
  }

  private apply(u: Update): void {
    const now = performance.now();
    this.tick = u.tick;
    this.updates++;
    for (const slot of u.left) this.entities.delete(slot);
    for (const [slot, s] of u.entered) {
      this.entities.set(slot, { seen: s, fromX: s.xCm, fromY: s.yCm, since: now, maxHp: Math.max(1, s.hp), diedAt: s.flags & FLAG_DEAD ? now : null });
    }
    for (const [slot, c] of u.changed) {
      const e = this.entities.get(slot);
      if (!e) continue; // a change for a slot we do not hold: ignored (the next entered names it)
      const s = e.seen;
      if (c.mask & CHANGED_POS) {
        const [x, y] = this.drawnAt(e, now);
        e.fromX = x;
        e.fromY = y;
        e.since = now;
        s.xCm += c.dxCm;
        s.yCm += c.dyCm;
      }
      if (c.mask & CHANGED_MOTION) {
        s.moveX = c.moveX;
        s.moveY = c.moveY;
      }
      if (c.mask & CHANGED_HP) {
        if (c.hp < s.hp) this.addLog(`${this.label(s.id)} ${s.id === this.self ? 'take' : 'takes'} ${s.hp - c.hp} damage`);
        s.hp = c.hp;
        e.maxHp = Math.max(e.maxHp, c.hp);
      }
      if (c.mask & CHANGED_FLAGS) {
        if (c.flags & FLAG_DEAD && !(s.flags & FLAG_DEAD)) {
          e.diedAt = now;
          this.addLog(`${this.label(s.id)} ${s.id === this.self ? 'die' : 'dies'}`);
        }
        if (!(c.flags & FLAG_DEAD)) e.diedAt = null;
        s.flags = c.flags;
      }
      if (c.mask & CHANGED_TARGET) s.target = c.target;
      if (c.mask & CHANGED_TEAM) s.team = c.team;
    }
    if (u.far.length > 0) this.far = u.far.filter((f) => f.count > 0);
    if (u.cooldownTicks !== null) {
      this.cooldownTicks = u.cooldownTicks;
      this.cooldownAt = now;
    }
  }

  // Where an entity is drawn at `now`: from its last drawn place toward its latest, over one tick.
  drawnAt(e: Entity, now: number): [number, number] {
    const t = Math.min(1, Math.max(0, (now - e.since) / TICK_MS));
    return [e.fromX + (e.seen.xCm - e.fromX) * t, e.fromY + (e.seen.yCm - e.fromY) * t];
  }

  private label(id: bigint): string {
    return id === this.self ? 'you' : `#${id}`;
  }
  private addLog(line: string): void {
    this.log.push(line);
    if (this.log.length > LOG_LINES_MAX) this.log.splice(0, this.log.length - LOG_LINES_MAX);
  }
}

export const CM_PER_M = 1000 / CLIENT_UNIT_MM;
