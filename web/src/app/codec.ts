// The client protocol (engine/wire/client_protocol.h) in TypeScript: the same bytes, the same
// checks. Bytes from the gateway are read as untrusted as the C++ reader reads them: a malformed
// message is an error naming what was wrong, never a partial value. Ids and tokens are 64-bit
// (bigint); everything else fits a number. web/test/codec.test.ts checks this file against bytes
// the C++ encoder produced (web/test/vectors.json, kept in step by tests/unit/client_vectors_test.cc).

export const PROTOCOL_VERSION = 4; // 4: an access token in the hello (engine/wire/client_protocol.h)
export const NAME_BYTES_MAX = 64;
export const REASON_BYTES_MAX = 256;
export const ADDRESS_BYTES_MAX = 256;
export const SLOTS_MAX = 4096;
export const FAR_CELLS_MAX = 4096;
export const MOVE_PERMILLE_MAX = 1000;
export const HEALTH_ABS_MAX = 1_000_000_000;
export const POSITION_CM_MAX = 100_000_000; // kCoordinateMmMax / kClientUnitMm
export const SKILL_SLOT_MAX = 8;
export const CHALLENGE_SLOT = 9; // kChallengeSlot: the input's skill slot that challenges the target to an encounter
export const CLIENT_UNIT_MM = 10;
export const FLAG_DEAD = 1;
export const ACCOUNT_FIELD_BYTES_MAX = 64; // kAccountFieldBytesMax (the server's rules are narrower: docs/security.md)
export const PASSWORD_FIELD_BYTES_MAX = 128;
export const AUTH_CODE_MAX = 6;
export const CLASS_ID_MAX = 0xffff;
export const INVENTORY_ITEMS_MAX = 8; // kInventoryItemsMax
export const ENCOUNTER_SEATS_MAX = 4; // kEncounterSeatsMax
export const ENCOUNTER_ROUNDS_MAX = 100; // kEncounterRoundsMax

// accounts::AuthCode (engine/accounts/account_service.h).
export enum AuthCode {
  Ok = 0,
  Refused = 1, // login: invalid name or password (or a limit; never says which)
  NameTaken = 2,
  Invalid = 3, // register: the name or password breaks the rules
  Busy = 4,
  Unavailable = 5,
  TokenRefused = 6, // refresh or logout: the token is not (or no longer) good
}

export enum MsgType {
  Hello = 1,
  Input = 2,
  Welcome = 10,
  Update = 11,
  Goodbye = 12,
  Redirect = 13,
  Register = 30,
  Login = 31,
  Refresh = 32,
  Logout = 33,
  AuthReply = 34,
  Hud = 40, // browser (40-44): the player's own bag and encounter
}

export const CHANGED_POS = 1 << 0;
export const CHANGED_MOTION = 1 << 1;
export const CHANGED_HP = 1 << 2;
export const CHANGED_FLAGS = 1 << 3;
export const CHANGED_TARGET = 1 << 4;
export const CHANGED_TEAM = 1 << 5;
export const CHANGED_ALL = 0x3f;

const U32_MAX = 0xffffffffn;

export class ByteWriter {
  private out: number[] = [];
  u8(v: number): void {
    this.out.push(v & 0xff);
  }
  u16(v: number): void {
    this.out.push(v & 0xff, (v >> 8) & 0xff);
  }
  varint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
  }
  zigzag(value: number): void {
    const v = BigInt(value);
    this.varint(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
  }
  string(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.varint(bytes.length);
    for (const b of bytes) this.out.push(b);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export class MalformedError extends Error {}

// Reads until the first error; later reads return 0 and error stays the first one (as ByteReader).
export class ByteReader {
  private pos = 0;
  error: string | null = null;
  constructor(private readonly buf: Uint8Array) {}

  ok(): boolean {
    return this.error === null;
  }
  atEnd(): boolean {
    return this.pos === this.buf.length;
  }
  fail(what: string): 0 {
    if (this.error === null) this.error = what;
    this.pos = this.buf.length;
    return 0;
  }
  private need(n: number): boolean {
    if (this.error !== null) return false;
    if (this.buf.length - this.pos < n) {
      this.fail('truncated');
      return false;
    }
    return true;
  }
  u8(): number {
    if (!this.need(1)) return 0;
    return this.buf[this.pos++];
  }
  u16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf[this.pos] | (this.buf[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }
  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 64n; shift += 7n) {
      if (!this.need(1)) return 0n;
      const b = this.buf[this.pos++];
      if (shift === 63n && b > 1) return BigInt(this.fail('varint overflows 64 bits'));
      if (b === 0 && shift > 0n) return BigInt(this.fail('varint not in its shortest form'));
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
    return BigInt(this.fail('varint longer than 10 bytes'));
  }
  varintAtMost(max: bigint, what: string): bigint {
    const v = this.varint();
    if (v > max) return BigInt(this.fail(what));
    return v;
  }
  // A varint that fits a number (counts, enums, ticks).
  num(max: bigint, what: string): number {
    return Number(this.varintAtMost(max, what));
  }
  zigzag(): bigint {
    const v = this.varint();
    return BigInt.asIntN(64, (v >> 1n) ^ -(v & 1n));
  }
  zigzagWithin(lo: number, hi: number, what: string): number {
    const v = this.zigzag();
    if (v < BigInt(lo) || v > BigInt(hi)) return this.fail(what);
    return Number(v);
  }
  string(max: number): string {
    const n = Number(this.varintAtMost(BigInt(max), 'byte string too long'));
    if (!this.ok() || !this.need(n)) return '';
    const s = new TextDecoder('utf-8', { fatal: false }).decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

// --- client -> gateway ---

export interface Hello {
  name: string;
  resumeEntity: bigint;
  resumeToken: bigint;
  accessId?: bigint;     // the session's access token (0 0, or absent: none; an anonymous gateway)
  accessSecret?: bigint;
}
export interface Input {
  seq: number;
  moveX: number; // permille
  moveY: number;
  target: bigint; // 0n: none
  skill: number; // 0: none, else the bar's slot (1-based)
}

export function encodeHello(h: Hello): Uint8Array {
  const w = new ByteWriter();
  w.u8(MsgType.Hello);
  w.varint(PROTOCOL_VERSION);
  w.string(h.name);
  w.varint(h.resumeEntity);
  w.varint(h.resumeToken);
  w.varint(h.accessId ?? 0n);
  w.varint(h.accessSecret ?? 0n);
  return w.finish();
}

export interface Token {
  id: bigint;
  secret: bigint;
}
export interface Register {
  account: string;
  password: string;
  classId: number; // the first character's class (content/classes.textpb)
}
export interface Login {
  account: string;
  password: string;
}

export function encodeRegister(m: Register): Uint8Array {
  const w = new ByteWriter();
  w.u8(MsgType.Register);
  w.string(m.account);
  w.string(m.password);
  w.varint(m.classId);
  return w.finish();
}

export function encodeLogin(m: Login): Uint8Array {
  const w = new ByteWriter();
  w.u8(MsgType.Login);
  w.string(m.account);
  w.string(m.password);
  return w.finish();
}

function encodeToken(type: MsgType, t: Token): Uint8Array {
  const w = new ByteWriter();
  w.u8(type);
  w.varint(t.id);
  w.varint(t.secret);
  return w.finish();
}
// The refresh token buys a new pair; either token of the session logs it out.
export const encodeRefresh = (t: Token): Uint8Array => encodeToken(MsgType.Refresh, t);
export const encodeLogout = (t: Token): Uint8Array => encodeToken(MsgType.Logout, t);

export function encodeInput(i: Input): Uint8Array {
  const w = new ByteWriter();
  w.u8(MsgType.Input);
  w.varint(i.seq >>> 0);
  w.zigzag(i.moveX);
  w.zigzag(i.moveY);
  w.varint(i.target);
  w.u8(i.skill);
  return w.finish();
}

// --- gateway -> client ---

export interface Seen {
  id: bigint;
  kind: number;
  classId: number;
  xCm: number;
  yCm: number;
  moveX: number;
  moveY: number;
  hp: number;
  flags: number;
  target: bigint;
  team: number;
}
export interface Changed {
  mask: number;
  dxCm: number;
  dyCm: number;
  moveX: number;
  moveY: number;
  hp: number;
  flags: number;
  target: bigint;
  team: number;
}
export interface Far {
  cellX: number;
  cellY: number;
  team: number;
  count: number;
}
export interface Update {
  tick: number;
  entered: Array<[number, Seen]>;
  changed: Array<[number, Changed]>;
  left: number[];
  far: Far[];
  cooldownTicks: number | null; // the own avatar's global cooldown, when sent
}
export type GatewayMessage =
  | { type: 'welcome'; entity: bigint; tick: number; tickHz: number; viewRadiusMm: number; resumeToken: bigint }
  | { type: 'update'; update: Update }
  | { type: 'goodbye'; reason: string }
  | { type: 'redirect'; address: string }
  | { type: 'auth'; reply: AuthReply }
  | { type: 'hud'; items: number[]; encounter: HudEncounter | null };

// The turn order of the encounter the player's avatar sits in (AvatarHud, messages.h): seats in
// turn order, `actor` the seat whose turn it is, its timer as the owner last read it.
export interface HudSeat {
  entity: bigint;
  team: number;
}
export interface HudEncounter {
  round: number;
  turn: number;
  actor: number;
  turnTicksLeft: number;
  seats: HudSeat[];
}

// The answer to a register, login, refresh or logout: tokens and character are 0 unless code is Ok.
export interface AuthReply {
  code: AuthCode;
  message: string; // the server's words, generic on purpose: shown as they are
  accessId: bigint;
  accessSecret: bigint;
  refreshId: bigint;
  refreshSecret: bigint;
  accessTtlMs: number;
  character: bigint;
  classId: number;
}

function readFields(r: ByteReader, mask: number, posMax: number): Changed {
  const c: Changed = { mask, dxCm: 0, dyCm: 0, moveX: 0, moveY: 0, hp: 0, flags: 0, target: 0n, team: 0 };
  if (mask & CHANGED_POS) {
    c.dxCm = r.zigzagWithin(-posMax, posMax, 'position out of range');
    c.dyCm = r.zigzagWithin(-posMax, posMax, 'position out of range');
  }
  if (mask & CHANGED_MOTION) {
    c.moveX = r.zigzagWithin(-MOVE_PERMILLE_MAX, MOVE_PERMILLE_MAX, 'motion out of range');
    c.moveY = r.zigzagWithin(-MOVE_PERMILLE_MAX, MOVE_PERMILLE_MAX, 'motion out of range');
  }
  if (mask & CHANGED_HP) c.hp = r.zigzagWithin(-HEALTH_ABS_MAX, HEALTH_ABS_MAX, 'health out of range');
  if (mask & CHANGED_FLAGS) c.flags = r.num(U32_MAX, 'flags out of range');
  if (mask & CHANGED_TARGET) c.target = r.varint();
  if (mask & CHANGED_TEAM) c.team = r.num(U32_MAX, 'team out of range');
  return c;
}

function readUpdate(r: ByteReader): Update {
  const u: Update = { tick: Number(r.varint()), entered: [], changed: [], left: [], far: [], cooldownTicks: null };
  const count = (max: number, what: string): number => {
    const n = r.u16();
    if (n > max) r.fail(what);
    return r.ok() ? n : 0;
  };
  const entered = count(SLOTS_MAX, 'too many entered');
  for (let i = 0; i < entered && r.ok(); ++i) {
    const slot = r.num(BigInt(SLOTS_MAX - 1), 'slot out of range');
    const id = r.varint();
    const kind = r.num(U32_MAX, 'kind out of range');
    const classId = r.num(0xffffn, 'class out of range');
    const c = readFields(r, CHANGED_ALL, POSITION_CM_MAX);
    if (r.ok() && id === 0n) r.fail('entered entity 0');
    if (r.ok()) {
      u.entered.push([
        slot,
        { id, kind, classId, xCm: c.dxCm, yCm: c.dyCm, moveX: c.moveX, moveY: c.moveY, hp: c.hp, flags: c.flags, target: c.target, team: c.team },
      ]);
    }
  }
  const changed = count(SLOTS_MAX, 'too many changed');
  for (let i = 0; i < changed && r.ok(); ++i) {
    const slot = r.num(BigInt(SLOTS_MAX - 1), 'slot out of range');
    const mask = r.u8();
    if (mask & ~CHANGED_ALL) r.fail('unknown change bits');
    const c = readFields(r, mask, 2 * POSITION_CM_MAX);
    if (r.ok()) u.changed.push([slot, c]);
  }
  const left = count(SLOTS_MAX, 'too many left');
  for (let i = 0; i < left && r.ok(); ++i) {
    const slot = r.num(BigInt(SLOTS_MAX - 1), 'slot out of range');
    if (r.ok()) u.left.push(slot);
  }
  const far = count(FAR_CELLS_MAX, 'too many aggregates');
  for (let i = 0; i < far && r.ok(); ++i) {
    const cellX = r.zigzagWithin(-2147483648, 2147483647, 'aggregate cell out of range');
    const cellY = r.zigzagWithin(-2147483648, 2147483647, 'aggregate cell out of range');
    const team = r.num(U32_MAX, 'team out of range');
    const n = r.num(U32_MAX, 'count out of range');
    if (r.ok()) u.far.push({ cellX, cellY, team, count: n });
  }
  const hasSelf = r.u8();
  if (hasSelf > 1) r.fail('bad self marker');
  if (hasSelf === 1) {
    const cooldown = r.num(U32_MAX, 'cooldown out of range');
    if (r.ok()) u.cooldownTicks = cooldown;
  }
  if (r.ok() && !r.atEnd()) r.fail('bytes after the update');
  return u;
}

// One message from the gateway; throws MalformedError naming what was wrong.
export function decodeGateway(bytes: Uint8Array): GatewayMessage {
  const r = new ByteReader(bytes);
  const type = r.u8();
  let out: GatewayMessage | null = null;
  switch (type) {
    case MsgType.Welcome: {
      const entity = r.varint();
      const tick = Number(r.varint());
      const tickHz = r.num(1000n, 'tick rate out of range');
      const viewRadiusMm = r.num(U32_MAX, 'view radius out of range');
      const resumeToken = r.varint();
      if (r.ok() && !r.atEnd()) r.fail('bytes after the welcome');
      out = { type: 'welcome', entity, tick, tickHz, viewRadiusMm, resumeToken };
      break;
    }
    case MsgType.Goodbye: {
      const reason = r.string(REASON_BYTES_MAX);
      if (r.ok() && !r.atEnd()) r.fail('bytes after the goodbye');
      out = { type: 'goodbye', reason };
      break;
    }
    case MsgType.Redirect: {
      const address = r.string(ADDRESS_BYTES_MAX);
      if (r.ok() && address.length === 0) r.fail('redirect to no address');
      if (r.ok() && !r.atEnd()) r.fail('bytes after the redirect');
      out = { type: 'redirect', address };
      break;
    }
    case MsgType.AuthReply: {
      const code = r.u8();
      if (r.ok() && code > AUTH_CODE_MAX) r.fail('unknown auth code');
      const message = r.string(REASON_BYTES_MAX);
      const accessId = r.varint();
      const accessSecret = r.varint();
      const refreshId = r.varint();
      const refreshSecret = r.varint();
      const accessTtlMs = Number(r.varint());
      const character = r.varint();
      const classId = r.num(BigInt(CLASS_ID_MAX), 'class out of range');
      if (r.ok() && !r.atEnd()) r.fail('bytes after the auth reply');
      out = { type: 'auth', reply: { code, message, accessId, accessSecret, refreshId, refreshSecret, accessTtlMs, character, classId } };
      break;
    }
    case MsgType.Update:
      out = { type: 'update', update: readUpdate(r) };
      break;
    case MsgType.Hud: {
      const items: number[] = [];
      const n = r.u8();
      if (n > INVENTORY_ITEMS_MAX) r.fail('too many hud items');
      for (let i = 0; i < n && r.ok(); ++i) {
        const kind = r.num(0xffffn, 'hud item kind out of range');
        if (r.ok() && kind === 0) r.fail('hud item kind 0');
        if (r.ok()) items.push(kind);
      }
      let encounter: HudEncounter | null = null;
      const inEncounter = r.u8();
      if (inEncounter > 1) r.fail('bad hud encounter marker');
      if (inEncounter === 1 && r.ok()) {
        const round = r.num(BigInt(ENCOUNTER_ROUNDS_MAX), 'hud round out of range');
        if (r.ok() && round === 0) r.fail('hud round 0');
        const turn = r.num(U32_MAX, 'hud turn out of range');
        const actor = r.num(BigInt(ENCOUNTER_SEATS_MAX - 1), 'hud actor out of range');
        const turnTicksLeft = r.num(U32_MAX, 'hud timer out of range');
        const seatCount = r.u8();
        if (r.ok() && (seatCount === 0 || seatCount > ENCOUNTER_SEATS_MAX)) r.fail('hud seat count out of range');
        const seats: HudSeat[] = [];
        for (let i = 0; i < seatCount && r.ok(); ++i) {
          const entity = r.varint();
          const team = r.num(U32_MAX, 'hud team out of range');
          if (r.ok() && entity === 0n) r.fail('hud seat of entity 0');
          if (r.ok()) seats.push({ entity, team });
        }
        if (r.ok() && actor >= seats.length) r.fail('hud actor past the seats');
        encounter = { round, turn, actor, turnTicksLeft, seats };
      }
      if (r.ok() && !r.atEnd()) r.fail('bytes after the hud');
      out = { type: 'hud', items, encounter };
      break;
    }
    default:
      if (r.ok()) r.fail('unknown gateway message type');
  }
  if (!r.ok() || out === null) throw new MalformedError(`gateway message: ${r.error}`);
  return out;
}

