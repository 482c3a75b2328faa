// A player in a real browser: headless Debian Chromium (playwright-core, never a downloaded browser)
// against `aether local` on loopback with bots and accounts on (its default), over TLS (a CA issued
// for the run; the browser is told to accept it, as a player would install the studio's). Asserts
// that the page loads from the gateway and shows the login screen; that a login to an account that
// does not exist shows the server's generic refusal; that registering a new account as a mage
// enters the world over the WebSocket (Welcome, updates) with the access token in the Hello; that a
// key press uses a skill and the HUD shows its cooldown; that the client refreshes its access token
// by itself before it expires (6 s tokens here), on the open connection; that a dropped connection,
// past the first token's life, comes back by itself with the refreshed token; that
// logging out returns to the login screen and logging in again plays. Screenshots: the login
// screen and the battle (docs/pictures/).
//
// usage: node tests/browser/play_test.mjs AETHER_BINARY WEB_ROOT SCREENSHOT [LOGIN_SCREENSHOT]
import { Harness, log } from './harness.mjs';

const [aether, webRoot, screenshot, loginScreenshot] = process.argv.slice(2);
const STEP_MS = 20_000;
const ACCESS_TTL_S = 6; // access tokens live this long here: the client must refresh them itself
const h = new Harness('browser', aether);

await h.run(async () => {
  const [, url] = await h.local(['--data-dir', h.path('data'), '--bots', '16', '--access-ttl', String(ACCESS_TTL_S), '--duration', '90', '--content', 'content',
    '--tls', '--tls-dir', h.path('tls'), '--web', '127.0.0.1:0', '--web-root', webRoot, '--log-level', 'warn'], /browsers on (https:\/\/[^\s]+)/, STEP_MS);
  log(`cluster up (accounts on), browsers on ${url}`);
  await h.launch();
  const page = await h.page({ width: 1100, height: 700 }, true);
  await page.goto(url, { timeout: STEP_MS });
  await page.waitForSelector('[data-test=login]', { timeout: STEP_MS });
  log('page loaded: the login screen');
  const account = `ann_${process.pid}_${Date.now() % 100000}`;
  const password = 'correct horse battery';
  // A login to an account that does not exist: the server's generic answer, shown as it is.
  await page.fill('[data-test=account]', account);
  await page.fill('[data-test=password]', password);
  await page.click('[data-test=submit]');
  await page.waitForSelector('[data-test=auth-error]', { timeout: STEP_MS });
  const refusal = await page.textContent('[data-test=auth-error]');
  if (!refusal.includes('invalid name or password')) throw new Error(`login to no account showed: ${refusal}`);
  if (await page.evaluate(() => window.aether.phase) !== 'login') throw new Error('still not at the login screen after a refusal');
  log(`unknown account refused: "${refusal.trim()}"`);
  // Register as a mage (mana from the start: its first skills need no enemy and no rage).
  await page.click('[data-test=mode-register]');
  await page.fill('[data-test=account]', account);
  await page.fill('[data-test=password]', password);
  await page.check('input[data-class=mage]');
  if (loginScreenshot) await page.screenshot({ path: loginScreenshot });
  await page.click('[data-test=submit]');
  await page.waitForFunction(() => document.querySelector('[data-test=status]')?.textContent.includes('playing'), null, { timeout: STEP_MS });
  if (await page.$('[data-test=login]')) throw new Error('the login screen stayed up while playing');
  const loggedInAt = Date.now();
  const firstAccess = await page.evaluate(() => window.aether.accessId());
  const firstSecret = await page.evaluate(() => String(window.aether.access?.secret ?? ''));
  if (!firstAccess) throw new Error('playing without an access token');
  log(`registered ${account} and entered the world (access token ${firstAccess})`);
  // Its own avatar at least (the bots come into view as the battle gathers), drawn with its health.
  await page.waitForFunction(() => Number(document.querySelector('[data-test=entities]')?.textContent) >= 1 && window.aether.me(), null, { timeout: STEP_MS });
  const seen = await page.textContent('[data-test=entities]');
  const player = await page.textContent('[data-test=player]');
  if (!player.includes(account) || !player.includes('mage')) throw new Error(`the player frame shows: ${player}`);
  log(`${seen} entities in view; the player frame: ${player.replace(/\s+/g, ' ').trim()}`);
  const hp = Number(await page.textContent('[data-test=hp]'));
  if (!(hp > 0)) throw new Error(`the HUD shows health ${hp}`);
  // A key press uses a skill (at the target, or oneself): the server puts the avatar on its global
  // cooldown, the next update says so, and the skill bar shows it. Slots 1 and 2 in turn (a
  // mage's arcane barrier on itself, counterspell at an enemy in view).
  // The avatar walks meanwhile: a gateway sends an update only when something in the view changed,
  // and the own cooldown alone does not count (ClientView::empty_update), so a player standing alone
  // is not told of its cooldown (docs/browser.md, "Not yet").
  let shown = false;
  await page.keyboard.down('d');
  for (let attempt = 0; attempt < 8 && !shown; ++attempt) {
    await page.keyboard.press(String(1 + (attempt % 2)));
    shown = await page.waitForSelector('[data-test=cooldown]', { timeout: 2000 }).then(() => true, () => false);
  }
  await page.keyboard.up('d');
  if (!shown) {
    const state = await page.evaluate(() => ({ log: window.aether.log.join(' | '), cooldown: window.aether.cooldownTicks, phase: window.aether.phase }));
    throw new Error(`no cooldown on the skill bar after pressing 1 and 2: ${JSON.stringify(state)}`);
  }
  const cooldown = await page.textContent('[data-test=cooldown]');
  const bar = await page.textContent('.skills');
  if (!bar.includes('arcane barrier') || !bar.includes('frostbolt')) throw new Error(`the skill bar is not a mage's: ${bar}`);
  log(`skill used: the HUD shows a cooldown of ${cooldown} s`);
  const log_ = await page.textContent('[data-test=log]');
  if (!log_.includes('you use skill')) throw new Error(`combat log without the skill: ${log_}`);
  // The client refreshes its access token by itself on the open connection at 80% of its life
  // (ACCESS_TTL_S here: the gateway's --access-ttl): a new pair, and the game plays on. (The
  // token's id names its family, which stays; the secret is new, and the old one is no longer good:
  // one access token per family at a time, so the reconnect below proves the new one.)
  await page.waitForFunction(() => window.aether.refreshes >= 1, null, { timeout: ACCESS_TTL_S * 1000 + STEP_MS });
  const refreshedSecret = await page.evaluate(() => String(window.aether.access?.secret ?? ''));
  if (refreshedSecret === firstSecret || !refreshedSecret) throw new Error('the refresh kept the access token');
  if (await page.evaluate(() => window.aether.phase) !== 'playing') throw new Error('the refresh interrupted the game');
  log(`access token of family ${firstAccess} refreshed by the client ${((Date.now() - loggedInAt) / 1000).toFixed(1)} s after login (a new secret); still playing`);
  // Past the first token's life: a reconnect must use what the refreshes gave.
  await page.waitForTimeout(Math.max(0, loggedInAt + ACCESS_TTL_S * 1000 + 500 - Date.now()));
  // The connection drops: the client says so, reconnects by itself with the refreshed token and
  // plays again. (It offers the last Welcome's entity and token too; a session its client lost ends
  // like any close, so the gateway may give a new avatar here.)
  const self = await page.evaluate(() => String(window.aether.self));
  await page.evaluate(() => window.aether.ws.close(4000, 'test drops the connection'));
  await page.waitForFunction(() => window.aether.phase === 'reconnecting', null, { timeout: 5000 });
  await page.waitForSelector('[data-test=notice]', { timeout: 5000 });
  await page.waitForFunction(() => window.aether.phase === 'playing', null, { timeout: STEP_MS });
  const again = await page.evaluate(() => String(window.aether.self));
  if (!(Number(again) > 0)) throw new Error(`reconnected without an avatar (${again})`);
  log(`reconnected by itself past the first token's life: playing as #${again} (was #${self}), ${await page.evaluate(() => window.aether.refreshes)} refreshes so far`);
  // For the picture: walk toward the biggest crowd the far view shows (cells as wide as the view
  // radius) until a few are in view, 12 s at most, then picture it as it is.
  const held = new Set();
  for (const until = Date.now() + 12_000; Date.now() < until;) {
    const aim = await page.evaluate(() => {
      const g = window.aether;
      const me = g.me();
      if (!me || g.entities.size >= 5 || g.far.length === 0) return null;
      const best = g.far.reduce((a, b) => (b.count > a.count ? b : a));
      const cell = g.viewRadiusMm / 10;
      return { dx: (best.cellX + 0.5) * cell - me.seen.xCm, dy: (best.cellY + 0.5) * cell - me.seen.yCm };
    });
    const want = new Set(aim ? [aim.dx > 500 ? 'd' : aim.dx < -500 ? 'a' : '', aim.dy > 500 ? 'w' : aim.dy < -500 ? 's' : ''].filter(Boolean) : []);
    for (const k of [...held]) if (!want.has(k)) { await page.keyboard.up(k); held.delete(k); }
    for (const k of want) if (!held.has(k)) { await page.keyboard.down(k); held.add(k); }
    if (!aim) break;
    await page.waitForTimeout(250);
  }
  for (const k of held) await page.keyboard.up(k);
  await page.keyboard.press('Tab');
  await page.waitForTimeout(1000);
  await page.screenshot({ path: screenshot });
  log(`screenshot ${screenshot}`);
  // Log out: the session ends at the gateway and the login screen comes back; logging in again plays.
  await page.click('[data-test=logout]');
  await page.waitForSelector('[data-test=login]', { timeout: STEP_MS });
  if (await page.evaluate(() => window.aether.accessId())) throw new Error('a token kept after logging out');
  log('logged out: the login screen');
  await page.click('[data-test=mode-login]');
  await page.fill('[data-test=account]', account);
  await page.fill('[data-test=password]', password);
  await page.click('[data-test=submit]');
  await page.waitForFunction(() => window.aether.phase === 'playing' && window.aether.me(), null, { timeout: STEP_MS });
  const player2 = await page.textContent('[data-test=player]');
  if (!player2.includes('mage')) throw new Error(`logged in again as: ${player2}`);
  log(`logged in again: playing as #${await page.evaluate(() => String(window.aether.self))}, still a mage`);
});
