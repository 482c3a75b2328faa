// The login screen (log in, or register with a class), then the battle view: a canvas drawn every
// animation frame (entities interpolated between the 10 Hz updates), and the HUD over it: own health, skill bar with cooldowns and keys, target frame,
// turn order of the encounter the player sits in, the bag, combat log, connection notice. Keys: WASD or arrows move, 1-4 use a skill on the target, Tab
// targets the nearest enemy, C challenges the target to a turn-based encounter, a click targets what is under it.

import { ChangeDetectionStrategy, Component, ElementRef, HostListener, OnDestroy, OnInit, ViewChild, signal } from '@angular/core';
import { CLASSES, CM_PER_M, className, Entity, Game, itemName, skillBar } from './game';
import { FLAG_DEAD } from './codec';

interface SkillView {
  slot: number;
  key: string;
  name: string;
  cooldownS: string; // '' when ready
}

@Component({
  selector: 'aether-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <canvas #canvas (click)="click($event)"></canvas>
    @if (view().phase === 'login' || view().phase === 'authenticating') {
      <form class="login frame" data-test="login" (submit)="submit($event)">
        <h1>Aether</h1>
        <div class="tabs">
          <button type="button" data-test="mode-login" [class.on]="mode() === 'login'" (click)="setMode('login')">Log in</button>
          <button type="button" data-test="mode-register" [class.on]="mode() === 'register'" (click)="setMode('register')">Register</button>
        </div>
        <label>Account <input data-test="account" name="account" autocomplete="username" maxlength="32" [value]="account()" (input)="account.set(text($event))" /></label>
        <label>Password
          <input data-test="password" name="password" type="password" maxlength="128"
                 [attr.autocomplete]="mode() === 'register' ? 'new-password' : 'current-password'" [value]="password()" (input)="password.set(text($event))" />
        </label>
        @if (mode() === 'register') {
          <fieldset class="classes" data-test="classes">
            <legend>Class of your character</legend>
            @for (c of classes; track c.id) {
              <label class="class" [class.on]="classId() === c.id">
                <input type="radio" name="class" [attr.data-class]="c.name" [checked]="classId() === c.id" (change)="classId.set(c.id)" />
                <b>{{ c.name }}</b> <span>{{ c.role }}</span>
              </label>
            }
          </fieldset>
          <div class="hint">Names: 3 to 32 of a-z 0-9 _ -. Passwords: 8 to 128 bytes.</div>
        }
        @if (view().authError) {
          <div class="error" data-test="auth-error">{{ view().authError }}</div>
        }
        <button type="submit" data-test="submit" [disabled]="view().phase === 'authenticating'">
          {{ view().phase === 'authenticating' ? 'Please wait' : mode() === 'register' ? 'Create account and play' : 'Log in and play' }}
        </button>
      </form>
    }
    @if (view().phase !== 'login' && view().phase !== 'authenticating') {
      <div class="hud">
        <div class="status" data-test="status">
          {{ view().phase }} · tick {{ view().tick }} · <span data-test="entities">{{ view().entities }}</span> in view
        </div>
        @if (view().notice) {
          <div class="notice" data-test="notice">{{ view().notice }}</div>
        }
        <div class="player frame" data-test="player">
          <div class="name">
            {{ view().account || 'guest' }} · {{ view().className }} · #{{ view().self }}
            @if (view().account) {
              <button class="logout" data-test="logout" (click)="logout()">Log out</button>
            }
          </div>
          <div class="bar hp"><div [style.width.%]="view().hpPct"></div><span data-test="hp">{{ view().hp }}</span></div>
        </div>
        @if (view().target) {
          <div class="target frame" data-test="target">
            <div class="name">{{ view().target!.name }}</div>
            <div class="bar hp enemy"><div [style.width.%]="view().target!.hpPct"></div><span>{{ view().target!.hp }}</span></div>
            <div class="sub">{{ view().target!.distance }} m</div>
          </div>
        }
        @if (view().turns) {
          <div class="turns frame" data-test="turns">
            <div class="name">Round {{ view().turns!.round }} · turn {{ view().turns!.turn }} · {{ view().turns!.leftS }} s</div>
            @for (seat of view().turns!.seats; track seat.entity) {
              <div class="seat" [class.acting]="seat.acting" [class.you]="seat.you" [attr.data-acting]="seat.acting ? 1 : 0">
                {{ seat.acting ? '▶' : '' }} {{ seat.name }} · team {{ seat.team }}
              </div>
            }
          </div>
        }
        <div class="bag frame" data-test="bag">
          <div class="name">Bag · {{ view().bag.length }} / 8</div>
          @for (item of view().bag; track $index) {
            <span class="item" data-test="bag-item">{{ item }}</span>
          } @empty {
            <span class="sub">empty</span>
          }
        </div>
        <div class="skills">
          @for (s of view().skills; track s.slot) {
            <button class="skill" [attr.data-slot]="s.slot" (click)="use(s.slot)" [class.cooling]="s.cooldownS !== ''">
              <span class="key">{{ s.key }}</span>
              <span class="label">{{ s.name }}</span>
              @if (s.cooldownS !== '') {
                <span class="cooldown" data-test="cooldown">{{ s.cooldownS }}</span>
              }
            </button>
          }
        </div>
        <div class="log" data-test="log">
          @for (line of view().log; track $index) {
            <div>{{ line }}</div>
          }
        </div>
      </div>
    }
  `,
})
export class AppComponent implements OnInit, OnDestroy {
  @ViewChild('canvas', { static: true }) canvas!: ElementRef<HTMLCanvasElement>;
  readonly view = signal(this.snapshot());
  readonly classes = CLASSES;
  readonly mode = signal<'login' | 'register'>('login');
  readonly account = signal('');
  readonly password = signal('');
  readonly classId = signal(CLASSES[1].id);
  private game!: Game;
  private frame = 0;
  private hudTimer: ReturnType<typeof setInterval> | null = null;

  ngOnInit(): void {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const params = new URLSearchParams(location.search);
    this.game = new Game(`${scheme}://${location.host}/play`);
    this.game.onChange = () => this.view.set(this.snapshot());
    // ?guest=1: no account (a gateway run with --anonymous); otherwise the login screen first.
    if (params.get('guest') === '1') this.game.playAsGuest((params.get('name') ?? 'player').slice(0, 32));
    if (params.get('register') === '1') this.mode.set('register');
    this.hudTimer = setInterval(() => this.view.set(this.snapshot()), 100);
    const draw = () => {
      this.draw();
      this.frame = requestAnimationFrame(draw);
    };
    this.frame = requestAnimationFrame(draw);
    (window as unknown as { aether: Game }).aether = this.game; // for the browser test and curious players
  }

  ngOnDestroy(): void {
    cancelAnimationFrame(this.frame);
    if (this.hudTimer) clearInterval(this.hudTimer);
    this.game.stop();
  }

  @HostListener('window:keydown', ['$event'])
  keydown(ev: KeyboardEvent): void {
    if (ev.target instanceof HTMLInputElement || this.game.phase === 'login' || this.game.phase === 'authenticating') return; // typing
    const key = ev.key.toLowerCase();
    if (key >= '1' && key <= String(this.view().skills.length)) {
      this.use(Number(key));
    } else if (key === 'tab') {
      this.game.targetNearestEnemy();
      ev.preventDefault();
    } else if (key === 'c') {
      this.game.challenge();
    } else {
      this.game.keyDown(key);
    }
  }
  @HostListener('window:keyup', ['$event'])
  keyup(ev: KeyboardEvent): void {
    this.game.keyUp(ev.key.toLowerCase());
  }

  setMode(mode: 'login' | 'register'): void {
    this.mode.set(mode);
    this.game.authError = '';
    this.view.set(this.snapshot());
  }
  text(ev: Event): string {
    return (ev.target as HTMLInputElement).value;
  }
  submit(ev: Event): void {
    ev.preventDefault();
    const account = this.account().trim();
    if (this.mode() === 'register') {
      this.game.register(account, this.password(), this.classId());
    } else {
      this.game.login(account, this.password());
    }
    this.password.set('');
  }
  logout(): void {
    this.game.logout();
  }

  use(slot: number): void {
    this.game.useSkill(slot);
  }

  click(ev: MouseEvent): void {
    const hit = this.entityAt(ev.offsetX, ev.offsetY);
    this.game.select(hit ? hit.seen.id : 0n);
  }

  private snapshot() {
    const g = this.game;
    const now = performance.now();
    const me = g?.me();
    const target = g?.find(g.target);
    const cooldown = g ? g.cooldownLeftMs(now) : 0;
    const skills: SkillView[] = [];
    const bar = skillBar(me?.seen.classId ?? g?.classId ?? 0);
    bar.forEach((name, i) => skills.push({ slot: i + 1, key: String(i + 1), name, cooldownS: cooldown > 0 ? (cooldown / 1000).toFixed(1) : '' }));
    const distance = me && target ? Math.hypot(target.seen.xCm - me.seen.xCm, target.seen.yCm - me.seen.yCm) / CM_PER_M : 0;
    return {
      phase: g?.phase ?? 'connecting',
      tick: g?.tick ?? 0,
      entities: g?.entities.size ?? 0,
      notice: g?.notice ?? '',
      authError: g?.authError ?? '',
      account: g?.account ?? '',
      className: me ? className(me.seen.classId) : g?.classId ? className(g.classId) : '',
      self: g ? String(g.self) : '',
      hp: me?.seen.hp ?? 0,
      hpPct: me ? Math.max(0, (100 * me.seen.hp) / me.maxHp) : 0,
      target: target
        ? {
            name: `#${target.seen.id} ${className(target.seen.classId)}${target.seen.flags & FLAG_DEAD ? ' (dead)' : ''} · team ${target.seen.team}`,
            hp: target.seen.hp,
            hpPct: Math.max(0, (100 * target.seen.hp) / target.maxHp),
            distance: distance.toFixed(1),
          }
        : null,
      skills,
      bag: g ? g.bag.map(itemName) : [],
      turns: g?.encounter
        ? {
            round: g.encounter.round,
            turn: g.encounter.turn,
            leftS: (g.turnLeftMs(now) / 1000).toFixed(1),
            seats: g.turnOrder().map((s) => ({ entity: String(s.entity), team: s.team, name: s.name, acting: s.acting, you: s.you })),
          }
        : null,
      log: g ? g.log.slice(-8) : [],
    };
  }

  // --- the canvas ---
  private scale(): { cx: number; cy: number; pxPerCm: number; ox: number; oy: number } {
    const c = this.canvas.nativeElement;
    const me = this.game.me();
    const [ox, oy] = me ? this.game.drawnAt(me, performance.now()) : [0, 0];
    const radiusCm = this.game.viewRadiusMm / 10;
    return { cx: c.width / 2, cy: c.height / 2, pxPerCm: Math.min(c.width, c.height) / 2 / radiusCm, ox, oy };
  }

  private entityAt(px: number, py: number): Entity | undefined {
    const { cx, cy, pxPerCm, ox, oy } = this.scale();
    let best: Entity | undefined;
    let bestD = 20 * 20;
    for (const e of this.game.entities.values()) {
      const [x, y] = this.game.drawnAt(e, performance.now());
      const d = (cx + (x - ox) * pxPerCm - px) ** 2 + (cy - (y - oy) * pxPerCm - py) ** 2;
      if (d < bestD) {
        best = e;
        bestD = d;
      }
    }
    return best;
  }

  private draw(): void {
    const c = this.canvas.nativeElement;
    if (c.width !== c.clientWidth || c.height !== c.clientHeight) {
      c.width = c.clientWidth;
      c.height = c.clientHeight;
    }
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const g = this.game;
    const now = performance.now();
    const { cx, cy, pxPerCm, ox, oy } = this.scale();
    ctx.fillStyle = '#14181f';
    ctx.fillRect(0, 0, c.width, c.height);
    // The radius of interest and a 10 m grid.
    ctx.strokeStyle = '#222a35';
    ctx.lineWidth = 1;
    const step = 1000 * pxPerCm;
    for (let x = cx - ((ox * pxPerCm) % step) - step * 20; x < c.width; x += step) {
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, c.height);
      ctx.stroke();
    }
    for (let y = cy + ((oy * pxPerCm) % step) - step * 20; y < c.height; y += step) {
      ctx.beginPath();
      ctx.moveTo(0, y);
      ctx.lineTo(c.width, y);
      ctx.stroke();
    }
    ctx.strokeStyle = '#3a4657';
    ctx.beginPath();
    ctx.arc(cx, cy, (g.viewRadiusMm / 10) * pxPerCm, 0, 2 * Math.PI);
    ctx.stroke();
    const me = g.me();
    const myTeam = me?.seen.team;
    for (const e of g.entities.values()) {
      const [x, y] = g.drawnAt(e, now);
      const px = cx + (x - ox) * pxPerCm;
      const py = cy - (y - oy) * pxPerCm;
      const dead = (e.seen.flags & FLAG_DEAD) !== 0;
      const mine = e.seen.id === g.self;
      const r = mine ? 8 : 6;
      ctx.globalAlpha = dead ? 0.45 : 1;
      ctx.fillStyle = dead ? '#666' : mine ? '#ffd54a' : e.seen.team === myTeam ? '#4aa3ff' : '#ff5a5a';
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.fill();
      if (dead) {
        ctx.strokeStyle = '#ddd';
        ctx.beginPath();
        ctx.moveTo(px - r, py - r);
        ctx.lineTo(px + r, py + r);
        ctx.moveTo(px + r, py - r);
        ctx.lineTo(px - r, py + r);
        ctx.stroke();
      } else {
        const w = 20;
        const frac = Math.max(0, Math.min(1, e.seen.hp / e.maxHp));
        ctx.fillStyle = '#300';
        ctx.fillRect(px - w / 2, py - r - 7, w, 3);
        ctx.fillStyle = frac > 0.5 ? '#3c3' : frac > 0.25 ? '#cc3' : '#c33';
        ctx.fillRect(px - w / 2, py - r - 7, w * frac, 3);
      }
      if (e.seen.id === g.target) {
        ctx.strokeStyle = '#fff';
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.arc(px, py, r + 4, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.lineWidth = 1;
      }
      ctx.globalAlpha = 1;
    }
  }
}
