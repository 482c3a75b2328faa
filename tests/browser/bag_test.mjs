// A player's bag in a real browser: a mage kills a monster that always drops an item, and the HUD's
// bag lists it with the bag's count; a second kill makes two; the bag is still there after the
// player logs out and in again (a new avatar, loaded from the character's save, whose owner tells
// the gateway its bag: AvatarHud, client message 40) and after the page is reloaded (a new page
// that knows nothing, logging in to take back its waiting avatar: the bag comes from the owner's
// refresh). The bag on the page is the only thing read: window.aether is used to find the monster
// and to compare the page with what the client decoded, never as the answer.
//
// The content is the shipped content/ with two files replaced, written into the run's directory:
// npcs.textpb (one weak rat at the middle of a 60 m arena, aggressive across all of it, back 2 s
// after its death) and items.textpb (the kill table drops ore, always). No bots: the rat is the
// only enemy, so Tab targets it and nobody else kills it.
//
// usage: node tests/browser/bag_test.mjs AETHER_BINARY WEB_ROOT SCREENSHOT
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Harness, log } from './harness.mjs';

const [aether, webRoot, screenshot] = process.argv.slice(2);
const STEP_MS = 20_000;
const KILL_MS = 30_000; // the rat walks to the player (at most ~40 m at 4 m/s), then a frostbolt (cooldown 4 s)
const HUD_REFRESH_MS = 12_000; // an avatar taken back at the same gateway hears its bag at the owner's refresh (10 s)
const NPC_TEAM = 1000; // kNpcTeam
const FLAG_DEAD = 1;
const PASSWORD = 'correct horse battery';
const h = new Harness('bag', aether);

// content/ with a rat next to every spawn point and a drop table that always drops ore.
function lootContent(dir) {
  mkdirSync(dir);
  for (const f of readdirSync('content')) if (f.endsWith('.textpb')) copyFileSync(join('content', f), join(dir, f));
  writeFileSync(join(dir, 'npcs.textpb'), [
    'skills { id: 40 name: "nibble" aim: ENEMY range_m: 4 cooldown_ticks: 10 damage: 1 }',
    'monsters { id: 101 name: "rat" hp_max: 10 speed_mm_per_tick: 400 skill: "nibble" aggro_radius_m: 50 leash_m: 80 }',
    'spawners { name: "rat-hole" monster: "rat" x_m: 30 y_m: 30 radius_m: 0 count: 1 respawn_ticks: 20 }',
    ''].join('\n'));
  writeFileSync(join(dir, 'items.textpb'), [
    // ids and names as content/items.textpb (the page's ITEMS table names them)
    'items { id: 1 name: "ore" }', 'items { id: 2 name: "herb" }', 'items { id: 3 name: "potion" }', 'items { id: 4 name: "sword" }',
    'drop_tables { name: "kill" nothing_weight: 0 drops { item: "ore" weight: 1 } }',
    'recipes { name: "brew" output: "potion" inputs: "ore" inputs: "herb" }',
    'recipes { name: "forge" output: "sword" inputs: "ore" inputs: "ore" }',
    ''].join('\n'));
}

// What the page shows in its bag: the header's count and the items listed.
const shownBag = (page) => page.evaluate(() => {
  const bag = document.querySelector('[data-test=bag]');
  if (!bag) return null;
  const header = bag.querySelector('.name')?.textContent ?? '';
  return { header: header.trim(), items: [...bag.querySelectorAll('[data-test=bag-item]')].map((e) => e.textContent.trim()) };
});

// Waits until the page's bag lists `count` ore and says so in its header.
async function expectBag(page, count, timeoutMs, what) {
  const t0 = Date.now();
  const ok = await page.waitForFunction((n) => {
    const bag = document.querySelector('[data-test=bag]');
    if (!bag) return false;
    const items = [...bag.querySelectorAll('[data-test=bag-item]')].map((e) => e.textContent.trim());
    return items.length === n && items.every((i) => i === 'ore') && bag.querySelector('.name')?.textContent.includes(`${n} / 8`);
  }, count, { timeout: timeoutMs }).then(() => true, () => false);
  const shown = await shownBag(page);
  if (!ok) {
    const state = await page.evaluate(() => ({ bag: window.aether.bag, phase: window.aether.phase, log: window.aether.log.slice(-6).join(' | ') }));
    throw new Error(`${what}: the bag does not list ${count} ore within ${timeoutMs} ms; it shows ${JSON.stringify(shown)}; client ${JSON.stringify(state)}`);
  }
  // The page shows what the client decoded from the gateway's hud message, no more, no less.
  const decoded = await page.evaluate(() => window.aether.bag.slice());
  if (decoded.length !== count || decoded.some((k) => k !== 1)) throw new Error(`${what}: the client holds ${JSON.stringify(decoded)}`);
  log(`${what}: the bag shows "${shown.header}": ${shown.items.join(', ')} (${Date.now() - t0} ms)`);
}

// The living rat in view, or null.
const rat = (page) => page.evaluate((team) => {
  for (const e of window.aether.entities.values()) {
    if (e.seen.team === team && !(e.seen.flags & 1)) return { id: String(e.seen.id), kind: e.seen.kind, hp: e.seen.hp };
  }
  return null;
}, NPC_TEAM);

// Targets the rat with Tab and casts frostbolt (key 4) until the rat dies.
async function killRat(page, n) {
  const deadline = Date.now() + KILL_MS;
  let target = null;
  while (!(target = await rat(page))) {
    if (Date.now() > deadline) throw new Error(`kill ${n}: no living rat in view within ${KILL_MS} ms`);
    await page.waitForTimeout(200);
  }
  if (target.kind !== 2) throw new Error(`kill ${n}: the rat #${target.id} is of kind ${target.kind}, not an NPC`);
  for (;;) {
    if (Date.now() > deadline) throw new Error(`kill ${n}: the rat #${target.id} still lives after ${KILL_MS} ms`);
    await page.keyboard.press('Tab');
    const aimed = await page.evaluate(() => String(window.aether.target));
    if (aimed === target.id) await page.keyboard.press('4');
    const dead = await page.waitForFunction(([id, flag]) => {
      const e = window.aether.find(BigInt(id));
      return !e || (e.seen.flags & flag) !== 0;
    }, [target.id, FLAG_DEAD], { timeout: 1500 }).then(() => true, () => false);
    if (dead) break;
  }
  log(`kill ${n}: the rat #${target.id} died`);
}

async function login(page, account) {
  await page.waitForSelector('[data-test=login]', { timeout: STEP_MS });
  await page.click('[data-test=mode-login]');
  await page.fill('[data-test=account]', account);
  await page.fill('[data-test=password]', PASSWORD);
  await page.click('[data-test=submit]');
  await page.waitForFunction(() => window.aether.phase === 'playing' && window.aether.me(), null, { timeout: STEP_MS });
  return page.evaluate(() => String(window.aether.self));
}

await h.run(async () => {
  const content = h.path('content');
  lootContent(content);
  const [, url] = await h.local(['--data-dir', h.path('data'), '--bots', '0', '--duration', '180', '--content', content, '--arena-m', '60',
    '--tls', '--tls-dir', h.path('tls'), '--web', '127.0.0.1:0', '--web-root', webRoot, '--log-level', 'warn'], /browsers on (https:\/\/[^\s]+)/, STEP_MS);
  log(`cluster up (accounts on, no bots, one rat), browsers on ${url}`);
  await h.launch();
  const page = await h.page({ width: 900, height: 650 });
  await page.goto(`${url}?register=1`, { timeout: STEP_MS });
  await page.waitForSelector('[data-test=login]', { timeout: STEP_MS });
  const account = `looter_${process.pid % 10000}_${Date.now() % 100000}`;
  await page.fill('[data-test=account]', account);
  await page.fill('[data-test=password]', PASSWORD);
  await page.check('input[data-class=mage]');
  await page.click('[data-test=submit]');
  await page.waitForFunction(() => window.aether.phase === 'playing' && window.aether.me(), null, { timeout: STEP_MS });
  const first = await page.evaluate(() => String(window.aether.self));
  log(`${account} (mage) plays #${first}`);
  const empty = await shownBag(page);
  if (!empty || !empty.header.includes('0 / 8') || empty.items.length !== 0) throw new Error(`a new character's bag: ${JSON.stringify(empty)}`);

  await killRat(page, 1);
  await expectBag(page, 1, STEP_MS, 'after the first kill');
  const looted = await page.textContent('[data-test=log]');
  if (!looted.includes('you looted ore')) throw new Error(`the combat log does not name the loot: ${looted}`);
  await killRat(page, 2);
  await expectBag(page, 2, STEP_MS, 'after the second kill');
  await page.screenshot({ path: screenshot });
  log(`screenshot ${screenshot}`);

  // Log out (the avatar goes, its save is written) and in again: a new avatar from the save.
  await page.click('[data-test=logout]');
  await page.waitForSelector('[data-test=login]', { timeout: STEP_MS });
  const loggedOut = await page.evaluate(() => window.aether.bag.length);
  if (loggedOut !== 0) throw new Error(`the logged-out client still holds a bag of ${loggedOut}`);
  const second = await login(page, account);
  if (second === first) throw new Error(`logging in again after a log-out played the same avatar #${first}`);
  log(`logged out and in again: plays #${second}`);
  await expectBag(page, 2, STEP_MS, 'after logging out and in');

  // The connection drops (closed under the client): the client shows its notice and reconnects by
  // itself with its resume and access tokens.
  await page.evaluate(() => window.aether.ws.close(4000, 'dropped by the test'));
  await page.waitForFunction(() => window.aether.phase === 'reconnecting', null, { timeout: STEP_MS });
  await page.waitForFunction(() => window.aether.phase === 'playing' && window.aether.me(), null, { timeout: STEP_MS });
  const third = await page.evaluate(() => String(window.aether.self));
  log(`connection dropped, reconnected by itself: plays #${third}${third === second ? ' (its avatar, taken back)' : ' (a new avatar)'}`);
  await expectBag(page, 2, HUD_REFRESH_MS, 'after the reconnect');

  // Reload the page: a client that knows nothing logs in again.
  await page.goto(url, { timeout: STEP_MS });
  const fourth = await login(page, account);
  log(`page reloaded and logged in: plays #${fourth}${fourth === third ? ' (its avatar, taken back)' : ' (a new avatar)'}`);
  await expectBag(page, 2, HUD_REFRESH_MS, 'after a reload');
});
