// An operator in a real browser: headless Debian Chromium against the console that coordinator 1
// serves on its admin listener (`aether local --tls --admin --operators`, two compute nodes, bots).
// Asserts that the page loads without a token but shows nothing until one is given; that with an
// operator's token it lists both compute nodes with their load; that Drain asks for confirmation,
// and once confirmed the node shows draining and its entities move to the other (assigned 0);
// then takes a screenshot (docs/pictures/).
//
// usage: node tests/browser/console_test.mjs AETHER_BINARY SCREENSHOT
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [aether, screenshot] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const STEP_MS = 25_000;

const log = (m) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const work = mkdtempSync(join(tmpdir(), 'aether-console-'));
let cluster;
let browser;
let failed = false;

function startCluster() {
  execFileSync(aether, ['operator', 'add', '--file', join(work, 'operators'), '--name', 'olga', '--role', 'operator', '--token-file', join(work, 'olga.token')]);
  return new Promise((resolve, reject) => {
    cluster = spawn(aether, ['local', '--anonymous', '--bots', '30', '--nodes', '2', '--duration', '90', '--tls', '--tls-dir', join(work, 'tls'),
      '--admin', '127.0.0.1:0', '--operators', join(work, 'operators'), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no admin listener within ${STEP_MS} ms:\n${out}`)), STEP_MS);
    cluster.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/admin on (https:\/\/[^\s/]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    cluster.stderr.on('data', (c) => process.stderr.write(c));
    cluster.on('exit', (code) => reject(new Error(`aether local exited (${code}):\n${out}`)));
  });
}

const row = (page, node) => page.locator(`#nodes tr[data-node="${node}"]`);

try {
  const url = await startCluster();
  log(`cluster up, admin on ${url}`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 600 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${url}/`, { timeout: STEP_MS });
  await page.waitForTimeout(1500);
  if ((await page.locator('#nodes tbody tr').count()) !== 0) throw new Error('nodes shown without a token');
  log('page loaded; nothing shown without a token');
  await page.fill('#token', readFileSync(join(work, 'olga.token'), 'utf8').trim());
  await page.click('#login button');
  await row(page, '101').waitFor({ timeout: STEP_MS });
  await row(page, '102').waitFor({ timeout: STEP_MS });
  // Both compute nodes hold entities once the bots have joined.
  const assigned = async (node) => Number(await row(page, node).locator('td').nth(2).textContent());
  await page.waitForFunction(() => [...document.querySelectorAll('#nodes tr[data-node]')].filter((r) => r.cells[0].textContent.startsWith('compute'))
    .every((r) => Number(r.cells[2].textContent) > 0), null, { timeout: STEP_MS });
  log(`nodes listed: compute 101 holds ${await assigned('101')}, compute 102 holds ${await assigned('102')}`);
  // Drain asks first: dismissed, nothing happens; accepted, the order goes.
  page.once('dialog', (d) => d.dismiss());
  await row(page, '101').locator('button[data-drain]').click();
  await page.waitForTimeout(1200);
  if ((await row(page, '101').locator('td').nth(1).textContent()).includes('draining')) throw new Error('drained without confirmation');
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    d.accept();
  });
  await row(page, '101').locator('button[data-drain]').click();
  await page.waitForFunction(() => document.querySelector('#nodes tr[data-node="101"]')?.cells[1].textContent.includes('draining'), null, { timeout: STEP_MS });
  if (!asked.includes('Drain compute 101')) throw new Error(`the confirmation said: ${asked}`);
  log('drain confirmed: compute 101 shows draining');
  await page.waitForFunction(() => Number(document.querySelector('#nodes tr[data-node="101"]')?.cells[2].textContent) === 0, null, { timeout: STEP_MS });
  log(`its entities moved: compute 101 holds 0, compute 102 holds ${await assigned('102')}`);
  const events = await page.textContent('#events');
  if (!events.includes('drain compute 101 under epoch') || !events.includes('200')) throw new Error(`events: ${events}`);
  await page.screenshot({ path: screenshot });
  log(`screenshot ${screenshot}`);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  log('PASS');
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.stack ?? e}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (cluster && cluster.exitCode === null) cluster.kill('SIGINT');
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
