// What a player's browser knows of the battle, and its connection to the gateway. Outside Angular:
// the component reads it (signals for the HUD, the canvas every frame).
//
// The connection: a WebSocket to the page's own origin (/play), binary frames, one client-protocol
// message each (codec.ts). With accounts (the gateway's default) the player logs in or registers on
// the connection it will play on; the AuthReply carries an access and a refresh token, and the Hello
// that follows carries the access token. Without (a guest, on a gateway run with --anonymous) it
// says Hello at once. Then one Input a tick while it plays. A closed connection is retried by itself
// after a short pause, with the last Welcome's entity and token (the resume) and the access token,
// refreshed first when it is about to expire. The access token is refreshed on the open connection
// at REFRESH_AT of its lifetime. Tokens live in this object only (never in storage or the URL): a
// reloaded page logs in again.

import {
  CLIENT_UNIT_MM,
  CHANGED_FLAGS,
  CHANGED_HP,
  CHANGED_MOTION,
  CHANGED_POS,
  CHANGED_TARGET,
  CHANGED_TEAM,
  AuthCode,
  AuthReply,
  CHALLENGE_SLOT,
  decodeGateway,
  encodeHello,
  encodeInput,
  encodeLogin,
  encodeLogout,
  encodeRefresh,
  encodeRegister,
  FLAG_DEAD,
  Far,
  HudEncounter,
  Seen,
  Token,
  Update,
} from './codec';

export const TICK_MS = 100;
export const SKILL_SLOTS = 6; // keys 1..6, as many as the class has (a class with none known: 4)
export const LOG_LINES_MAX = 40;
export const RECONNECT_DELAY_MS = 1000;
export const SKILL_REPEAT_INPUTS = 1; // inputs that carry one key press of a skill (sendInput)
export const REFRESH_AT = 0.8; // of the access token's lifetime
export const REFRESH_MARGIN_MS = 5000; // a token this close to expiry is refreshed before a Hello
export const LOGOUT_CLOSE_MS = 2000; // the gateway closes a logged-out connection; we do past this
// The classes a new account can choose (content/classes.textpb: ids and names; the protocol does not
// carry the content, so the client keeps this table in step with it).
export const CLASSES: ReadonlyArray<{ id: number; name: string; role: string; skills: readonly string[] }> = [
  { id: 1, name: 'warrior', role: 'melee, rage builds as it fights', skills: ['battle cry', 'fortify', 'shield bash', 'sunder', 'cleave', 'strike'] },
  { id: 2, name: 'mage', role: 'ranged damage, mana', skills: ['arcane barrier', 'counterspell', 'frost nova', 'frostbolt', 'fireball'] },
  { id: 3, name: 'rogue', role: 'melee damage, energy', skills: ['evasion', 'kick', 'kidney shot', 'poison blade', 'stab'] },
  { id: 4, name: 'cleric', role: 'heals allies, mana', skills: ['divine ward', 'cleanse', 'holy nova', 'renew', 'heal', 'smite'] },
];
// Item names (content/items.textpb: ids and names), kept in step by hand as CLASSES is.
export const ITEMS: ReadonlyArray<{ id: number; name: string }> = [
  { id: 1, name: 'ore' },
  { id: 2, name: 'herb' },
  { id: 3, name: 'potion' },
  { id: 4, name: 'sword' },
];
export function itemName(kind: number): string {
  return ITEMS.find((i) => i.id === kind)?.name ?? `item ${kind}`;
}
export function className(id: number): string {
  return CLASSES.find((c) => c.id === id)?.name ?? `class ${id}`;
}
// The skill bar of a class, slot 1 first (its skill names; numbered slots for a class not known).
export function skillBar(classId: number): string[] {
  const c = CLASSES.find((x) => x.id === classId);
  return c ? c.skills.slice(0, SKILL_SLOTS) : ['Skill 1', 'Skill 2', 'Skill 3', 'Skill 4'];
}

export interface Entity {
  seen: Seen;
  // Interpolation: drawn from (fromX, fromY) at `since` to (seen.xCm, seen.yCm) one tick later.
  fromX: number;
  fromY: number;
  since: number;
  maxHp: number;
  diedAt: number | null;
}

// login: the login screen; authenticating: a register or login is on its way.
export type Phase = 'login' | 'authenticating' | 'connecting' | 'waiting' | 'playing' | 'reconnecting';
type Pending = 'register' | 'login' | 'refresh' | null;

export class Game {
  readonly entities = new Map<number, Entity>(); // by slot
  far: Far[] = [];
  self: bigint = 0n;
  tickHz = 10;
  viewRadiusMm = 50_000;
  tick = 0;
  cooldownTicks = 0;
  cooldownAt = 0; // when cooldownTicks was heard (ms)
  // What the avatar's owner last said of its bag and encounter (the gateway's 'hud' message).
  bag: number[] = []; // item kinds, oldest first
  encounter: HudEncounter | null = null;
  encounterAt = 0; // when encounter.turnTicksLeft was heard (ms)
  target: bigint = 0n;
  phase: Phase = 'login';
  notice = '';
  authError = ''; // the server's answer to the last register or login that failed
  account = ''; // who is logged in ('' : nobody, or a guest)
  classId = 0;
  refreshes = 0; // access tokens refreshed in this session
  log: string[] = [];
  updates = 0;
  onChange: () => void = () => {};

  private ws: WebSocket | null = null;
  private resumeEntity = 0n;
  private resumeToken = 0n;
  private seq = 0;
  private inputTimer: ReturnType<typeof setInterval> | null = null;
  private pendingSkill = 0;
  private skillInputsLeft = 0;
  private readonly keys = new Set<string>();
  private stopped = true;
  private guest = false;
  private name = 'player';
  private access: Token | null = null;
  private refreshToken: Token | null = null;
  private accessExpiresAt = 0; // performance.now() time
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private pending: Pending = null;
  private queued: Uint8Array | null = null; // a register or login waiting for the socket to open

  constructor(private readonly url: string) {}

  // The login screen's buttons. The request goes on a fresh connection (or the one still open).
  register(account: string, password: string, classId: number): void {
    this.authenticate('register', account, encodeRegister({ account, password, classId }));
  }
  login(account: string, password: string): void {
    this.authenticate('login', account, encodeLogin({ account, password }));
  }
  // No account: only a gateway without accounts (`aether local --anonymous`) admits it.
  playAsGuest(name: string): void {
    this.guest = true;
    this.name = name;
    this.account = '';
    this.authError = '';
    this.stopped = false;
    this.open(null);
  }
  // Ends the session at the gateway (both tokens, and the avatar leaves), then the login screen.
  logout(): void {
    const token = this.access ?? this.refreshToken;
    const ws = this.ws;
    if (token && ws && ws.readyState === WebSocket.OPEN) {
      // The gateway answers and closes the connection; we stop listening to it now, and close it
      // ourselves if it has not within LOGOUT_CLOSE_MS. A new login opens a connection of its own.
      ws.send(encodeLogout(token));
      this.ws = null;
      setTimeout(() => ws.close(1000, 'logged out'), LOGOUT_CLOSE_MS);
    }
    this.toLoginScreen('logged out');
  }
  // Refreshes the access token now, on the open connection (the timer does it at REFRESH_AT).
  refreshNow(): boolean {
    if (!this.refreshToken || !this.ws || this.ws.readyState !== WebSocket.OPEN || this.pending) return false;
    this.pending = 'refresh';
    this.ws.send(encodeRefresh(this.refreshToken));
    return true;
  }
  // The access token's id (for tests and the curious: never the secret).
  accessId(): string {
    return this.access ? String(this.access.id) : '';
  }

  private authenticate(kind: 'register' | 'login', account: string, message: Uint8Array): void {
    if (this.pending === 'register' || this.pending === 'login') return;
    this.guest = false;
    this.name = account;
    this.account = account;
    this.authError = '';
    this.stopped = false;
    this.phase = 'authenticating';
    this.pending = kind;
    this.onChange();
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(message);
    } else if (!this.ws || this.ws.readyState !== WebSocket.CONNECTING) {
      this.open(message);
    } else {
      this.queued = message;
    }
  }

  // A new connection; `first`: a register or login to send on it, else a Hello (or a refresh first).
  private open(first: Uint8Array | null): void {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.queued = first;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      const queued = this.queued;
      this.queued = null;
      if (queued) {
        ws.send(queued);
      } else if (this.access && this.refreshToken && performance.now() > this.accessExpiresAt - REFRESH_MARGIN_MS) {
        this.phase = 'waiting';
        this.pending = 'refresh';
        ws.send(encodeRefresh(this.refreshToken)); // the Hello follows its answer
      } else {
        this.hello();
      }
      this.onChange();
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.receive(new Uint8Array(ev.data as ArrayBuffer));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.stopInputs();
      this.ws = null;
      if (this.pending === 'register' || this.pending === 'login') {
        this.pending = null;
        this.phase = 'login';
        this.authError = this.authError || `the gateway closed the connection${ev.reason ? ': ' + ev.reason : ''}`;
        this.onChange();
        return;
      }
      this.pending = null;
      if (this.stopped) return;
      if (!this.access && !this.guest) {
        // Nothing to come back with (a login screen's idle connection): stay at the login screen.
        this.phase = 'login';
        this.onChange();
        return;
      }
      this.phase = 'reconnecting';
      if (!this.notice) this.notice = `connection lost${ev.reason ? ': ' + ev.reason : ''}; reconnecting`;
      this.onChange();
      setTimeout(() => {
        if (!this.stopped && !this.ws) this.open(null);
      }, RECONNECT_DELAY_MS);
    };
  }

  private hello(): void {
    if (!this.ws) return;
    this.phase = 'waiting';
    this.ws.send(
      encodeHello({
        name: this.name,
        resumeEntity: this.resumeEntity,
        resumeToken: this.resumeToken,
        accessId: this.access?.id ?? 0n,
        accessSecret: this.access?.secret ?? 0n,
      }),
    );
  }

  private authReply(r: AuthReply): void {
    const pending = this.pending;
    this.pending = null;
    if (pending === null) return; // an answer we no longer wait for
    if (r.code !== AuthCode.Ok) {
      if (pending === 'refresh') {
        this.toLoginScreen(`your session ended (${r.message}); log in again`);
        return;
      }
      this.phase = 'login';
      this.authError = r.message; // the server's generic words ("invalid name or password", "name taken"...)
      return;
    }
    this.access = { id: r.accessId, secret: r.accessSecret };
    this.refreshToken = { id: r.refreshId, secret: r.refreshSecret };
    this.accessExpiresAt = performance.now() + r.accessTtlMs;
    this.scheduleRefresh(r.accessTtlMs);
    if (pending === 'refresh') {
      this.refreshes++;
      if (this.phase !== 'playing') this.hello(); // a reconnect that refreshed first
      return;
    }
    this.classId = r.classId;
    this.authError = '';
    this.resumeEntity = 0n; // a new login: the gateway gives the character's avatar back if it still waits
    this.resumeToken = 0n;
    this.hello();
  }

  private scheduleRefresh(ttlMs: number): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      // Not connected now: the reconnect refreshes before its Hello.
      if (!this.refreshNow() && this.ws && this.pending) this.scheduleRefresh(2000);
    }, Math.max(1000, ttlMs * REFRESH_AT));
  }

  private toLoginScreen(why: string): void {
    this.stopped = true;
    this.stopInputs();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.access = null;
    this.refreshToken = null;
    this.resumeEntity = 0n;
    this.resumeToken = 0n;
    this.account = '';
    this.entities.clear();
    this.self = 0n;
    this.bag = [];
    this.encounter = null;
    this.phase = 'login';
    this.notice = '';
    this.authError = why;
    this.pending = null;
    this.queued = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'leaving');
    this.onChange();
  }

  stop(): void {
    this.stopped = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
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
  turnLeftMs(now: number): number {
    if (!this.encounter) return 0;
    return Math.max(0, this.encounter.turnTicksLeft * (1000 / this.tickHz) - (now - this.encounterAt));
  }
  // The seats of the encounter in turn order, named as the client knows them.
  turnOrder(): { entity: bigint; team: number; name: string; acting: boolean; you: boolean }[] {
    const e = this.encounter;
    if (!e) return [];
    return e.seats.map((seat, i) => {
      const seen = this.find(seat.entity)?.seen;
      const you = seat.entity === this.self;
      const name = you ? 'you' : seen ? `${className(seen.classId)} #${seat.entity}` : `#${seat.entity}`;
      return { entity: seat.entity, team: seat.team, name, acting: i === e.actor, you };
    });
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
    this.skillInputsLeft = SKILL_REPEAT_INPUTS;
  }
  // Challenges the target (the nearest enemy with none) to a turn-based encounter: its owner
  // checks it (an enemy player within the content's challenge range, neither in one already).
  challenge(): void {
    this.useSkill(CHALLENGE_SLOT);
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
    // A skill goes in SKILL_REPEAT_INPUTS inputs: one, since the owner keeps a press until its tick
    // acts on it (a later input of the tick without a skill does not cancel it: World::apply_input).
    const skill = this.skillInputsLeft > 0 ? this.pendingSkill : 0;
    const first = this.skillInputsLeft === SKILL_REPEAT_INPUTS;
    if (this.skillInputsLeft > 0) this.skillInputsLeft--;
    const target = this.find(this.target) ? this.target : skill ? this.self : 0n;
    this.ws.send(encodeInput({ seq: ++this.seq, moveX: x * norm, moveY: y * norm, target, skill }));
    if (skill && first) this.addLog(`you use skill ${skill} on #${target}`);
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
        if (m.entity !== this.self) {
          // Another avatar (a new one): its owner tells us its bag and encounter once it has any.
          this.bag = [];
          this.encounter = null;
        }
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
      case 'auth':
        this.authReply(m.reply);
        break;
      case 'goodbye':
        if (m.reason.startsWith('not logged in') && !this.guest) {
          // The token was refused at the Hello (expired, revoked): the player logs in again.
          this.toLoginScreen(`the gateway refused the session (${m.reason}); log in again`);
          return;
        }
        if (this.guest && m.reason.startsWith('not logged in')) {
          this.stopped = true;
          this.phase = 'login';
          this.authError = 'this gateway needs an account: register or log in';
          break;
        }
        this.notice = `the gateway said goodbye: ${m.reason}`;
        this.addLog(this.notice);
        break;
      case 'hud':
        if (m.items.length > this.bag.length) this.addLog(`you looted ${itemName(m.items[m.items.length - 1])}`);
        if (m.encounter && (!this.encounter || this.encounter.turn !== m.encounter.turn)) {
          const acting = m.encounter.seats[m.encounter.actor].entity;
          this.addLog(acting === this.self ? `round ${m.encounter.round}: your turn` : `round ${m.encounter.round}: #${acting}'s turn`);
        }
        if (!m.encounter && this.encounter) this.addLog('the encounter is over');
        this.bag = m.items;
        this.encounter = m.encounter;
        this.encounterAt = performance.now();
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
