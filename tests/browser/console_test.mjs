// An operator in a real browser: headless Debian Chromium against the console that coordinator 1
// serves on its admin listener (`aether local --tls --admin --operators`, two compute nodes, bots).
// Asserts that the page loads without a token but shows nothing until one is given; that with an
// operator's token it lists both compute nodes with their load; that Drain asks for confirmation,
// and once confirmed the node shows draining and its entities move to the other (assigned 0);
// that the ownership map (GET /api/ownership) draws both nodes' regions and entities, and after the
// drain shows every entity on the other node; that the timeline (GET /api/timeline) shows the drain
// order and the migrations off the drained node; that Failover (two coordinators) asks first, then
// the coordinator shows it no longer leads, at a higher epoch, and the timeline shows it stepped
// down; then takes a screenshot (docs/pictures/). Before the drain, the entity inspector: an avatar
// another node holds a ghost of shows its ghosts, its subscriptions (the gateway its owner feeds it
// to) and, read again, its last inputs; Debug (the entity's, then a node's) asks first and turns to
// "Debug off"; Move asks first,
// dismissed nothing moves, confirmed its owner becomes the other node (the events name the epoch).
// After the failover, the page knows coordinator 2's listener (aether local gives every coordinator
// one, each naming the others as its peers), offers to read it as the leader, and reads it.
//
// usage: node tests/browser/console_test.mjs AETHER_BINARY SCREENSHOT [MAP_SCREENSHOT (before the drain)] [INSPECTOR_SCREENSHOT]
import { Harness, log } from './harness.mjs';

const [aether, screenshot, mapScreenshot, inspectorScreenshot] = process.argv.slice(2);
const STEP_MS = 25_000;
const h = new Harness('console', aether);

const row = (page, node) => page.locator(`#nodes tr[data-node="${node}"]`);

await h.run(async () => {
  const token = h.operator('olga', 'operator');
  const [, url] = await h.local(['--anonymous', '--bots', '30', '--nodes', '2', '--coordinators', '2', '--duration', '90', '--tls', '--tls-dir', h.path('tls'),
    '--admin', '127.0.0.1:0', '--operators', h.path('operators'), '--log-level', 'warn'], /admin on (https:\/\/[^\s/]+)/, STEP_MS);
  log(`cluster up, admin on ${url}`);
  await h.launch();
  const page = await h.page({ width: 1100, height: 900 });
  await page.goto(`${url}/`, { timeout: STEP_MS });
  await page.waitForTimeout(1500);
  if ((await page.locator('#nodes tbody tr').count()) !== 0) throw new Error('nodes shown without a token');
  log('page loaded; nothing shown without a token');
  await page.fill('#token', token);
  await page.click('#login button');
  await row(page, '101').waitFor({ timeout: STEP_MS });
  await row(page, '102').waitFor({ timeout: STEP_MS });
  // Both compute nodes hold entities once the bots have joined.
  const assigned = async (node) => Number(await row(page, node).locator('td').nth(2).textContent());
  await page.waitForFunction(() => [...document.querySelectorAll('#nodes tr[data-node]')].filter((r) => r.cells[0].textContent.startsWith('compute'))
    .every((r) => Number(r.cells[2].textContent) > 0), null, { timeout: STEP_MS });
  log(`nodes listed: compute 101 holds ${await assigned('101')}, compute 102 holds ${await assigned('102')}`);
  // The ownership map: both nodes in the legend with entities, regions and entities drawn.
  const legend = (node) => page.evaluate((n) => Number(document.querySelector(`#legend span[data-node="${n}"]`)?.dataset.entities ?? 0), node);
  await page.waitForFunction(() => ['101', '102'].every((n) => Number(document.querySelector(`#legend span[data-node="${n}"]`)?.dataset.entities) > 0),
    null, { timeout: STEP_MS });
  const painted = await page.evaluate(() => {
    const c = document.getElementById('map');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return colours.size;
  });
  if (painted < 4) throw new Error(`the ownership map has ${painted} colours: not drawn`);
  log(`ownership map: compute 101 owns ${await legend('101')}, compute 102 owns ${await legend('102')} (${painted} colours drawn)`);
  if (mapScreenshot) await page.screenshot({ path: mapScreenshot, fullPage: true });
  // The inspector: an avatar (ids at epoch 1 are 2^40 + n) at home that another node holds a ghost of.
  const findGhosted = (t) => page.evaluate(async (tok) => {
    for (let n = 1; n <= 40; ++n) {
      const e = String(2 ** 40 + n);
      const r = await fetch(`/api/ghosts?id=${e}`, { headers: { Authorization: 'Bearer ' + tok } });
      const lines = (await r.json()).lines || [];
      if (!lines.some((l) => /holds a ghost/.test(l)) || !lines.some((l) => /owns it/.test(l))) continue;
      // At home (its owner is its cell's home) and near the border (a ghost): the balancer moves it
      // neither before the operator does nor back at once (docs/architecture.md §7).
      const v = await (await fetch(`/api/entity?id=${e}`, { headers: { Authorization: 'Bearer ' + tok } })).json();
      if (v.owner && v.owner === v.home && !v.migrating_to) return e;
    }
    return null;
  }, t);
  let id = null;
  for (const until = Date.now() + STEP_MS; !id && Date.now() < until; await page.waitForTimeout(1000)) id = await findGhosted(token);
  if (!id) throw new Error('no avatar with a ghost on the other node');
  await page.fill('#entity-id', id);
  await page.click('#inspect button');
  const field = (name) => page.textContent(`#entity tr[data-field="${name}"] td:last-child`);
  await page.waitForSelector('#entity tr[data-field="ghosts"]', { timeout: STEP_MS });
  const owner = /compute (\d+)/.exec(await field('owner'))[1];
  const ghosts = await field('ghosts');
  if (!/compute 10[12]: version/.test(ghosts) || ghosts.includes(`compute ${owner}:`)) throw new Error(`inspector ghosts: ${ghosts}`);
  const subscriptions = await field('subscriptions');
  if (!subscriptions.includes(`from compute ${owner} to `) || !/gateway 20\d/.test(subscriptions)) throw new Error(`inspector subscriptions: ${subscriptions}`);
  // The owner keeps its inputs from the first question on; the inspector reads again every 2 s.
  await page.waitForFunction(() => /tick \d+: seq \d+/.test(document.querySelector('#entity tr[data-field="inputs"] td:last-child')?.textContent ?? ''),
    null, { timeout: STEP_MS });
  log(`inspector, entity ${id}: owner compute ${owner}; ghosts: ${ghosts}; subscriptions: ${subscriptions}; inputs: ${(await field('inputs')).slice(0, 80)}...`);
  if (inspectorScreenshot) await page.screenshot({ path: inspectorScreenshot, fullPage: true });
  // Debug on, confirmed: the button turns to "Debug off".
  let debugAsked = '';
  page.once('dialog', (d) => { debugAsked = d.message(); d.accept(); });
  await page.click('#entity button[data-test="entity-debug"]');
  await page.waitForFunction(() => document.querySelector('#entity button[data-test="entity-debug"]')?.textContent === 'Debug off', null, { timeout: STEP_MS });
  if (!debugAsked.includes(`debug on for entity ${id}`) || !/The order claims epoch \d+/.test(debugAsked)) throw new Error(`the debug confirmation said: ${debugAsked}`);
  // A whole node's debug, from the nodes table: confirmed, its button turns to "Debug off"; then off again.
  let nodeAsked = '';
  page.once('dialog', (d) => { nodeAsked = d.message(); d.accept(); });
  await row(page, '102').locator('button[data-debug-node]').click();
  await page.waitForFunction(() => document.querySelector('#nodes tr[data-node="102"] button[data-debug-node]')?.textContent === 'Debug off', null, { timeout: STEP_MS });
  if (!nodeAsked.includes('debug on for compute 102')) throw new Error(`the node debug confirmation said: ${nodeAsked}`);
  page.once('dialog', (d) => d.accept());
  await row(page, '102').locator('button[data-debug-node]').click();
  await page.waitForFunction(() => document.querySelector('#nodes tr[data-node="102"] button[data-debug-node]')?.textContent === 'Debug', null, { timeout: STEP_MS });
  // Move to the other node: dismissed, nothing moves; confirmed, the owner changes.
  const other = owner === '101' ? '102' : '101';
  page.once('dialog', (d) => d.dismiss());
  await page.click('#entity button[data-test="move"]');
  await page.waitForTimeout(2500);
  if (!(await field('owner')).includes(`compute ${owner}`)) throw new Error(`moved without confirmation: ${await field('owner')}`);
  let moveAsked = '';
  page.once('dialog', (d) => { moveAsked = d.message(); d.accept(); });
  await page.click('#entity button[data-test="move"]');
  await page.waitForFunction((o) => document.querySelector('#entity tr[data-field="owner"] td:last-child')?.textContent.includes(`compute ${o}`), other, { timeout: STEP_MS });
  if (!moveAsked.includes(`Move entity ${id} to compute ${other}?`) || !/The order claims epoch \d+/.test(moveAsked)) throw new Error(`the move confirmation said: ${moveAsked}`);
  const orderEvents = await page.textContent('#events');
  if (!orderEvents.includes(`move entity ${id} to compute ${other}: dismissed`) || !new RegExp(`move entity ${id} to compute ${other} under epoch \\d+: 200`).test(orderEvents))
    throw new Error(`events: ${orderEvents}`);
  log(`debug on and move confirmed: entity ${id} now on compute ${other}`);
  page.once('dialog', (d) => d.accept());
  await page.click('#entity button[data-test="entity-debug"]');
  await page.waitForFunction(() => document.querySelector('#entity button[data-test="entity-debug"]')?.textContent === 'Debug', null, { timeout: STEP_MS });
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
  // The map follows: nothing left on 101; the timeline shows the order and the migrations off 101.
  await page.waitForFunction(() => !(Number(document.querySelector('#legend span[data-node="101"]')?.dataset.entities) > 0) &&
    Number(document.querySelector('#legend span[data-node="102"]')?.dataset.entities) > 0, null, { timeout: STEP_MS });
  await page.waitForSelector('#timeline div[data-kind="drain"]', { timeout: STEP_MS });
  const drainLine = await page.textContent('#timeline div[data-kind="drain"]');
  if (!drainLine.includes('compute 101')) throw new Error(`timeline drain line: ${drainLine}`);
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline div[data-kind="migrated"]')].some((d) => d.textContent.includes('compute 101 -> 102')),
    null, { timeout: STEP_MS });
  const migrations = await page.$$eval('#timeline div[data-kind="migrated"]', (ds) => ds.filter((d) => d.textContent.includes('compute 101 -> 102')).length);
  log(`map: compute 101 owns nothing, compute 102 owns ${await legend('102')}; timeline: the drain order and ${migrations} migrations 101 -> 102`);
  await page.waitForTimeout(600);  // the strip's next frame
  // Failover: the leader steps down and the vice takes over; the console reads coordinator 1, which
  // now follows at a higher epoch, and its timeline says it stepped down.
  if (await page.isHidden('#failover')) throw new Error('no Failover button while coordinator 1 leads');
  let failoverAsked = '';
  page.once('dialog', (d) => {
    failoverAsked = d.message();
    d.accept();
  });
  await page.click('#failover');
  await page.waitForSelector('#timeline div[data-kind="stepped_down"]', { timeout: STEP_MS });
  await page.waitForFunction(() => /coordinator 1 \((?!leader)\w+\) at epoch ([2-9]|\d\d)/.test(document.getElementById('summary').textContent), null, { timeout: STEP_MS });
  if (!failoverAsked.includes('The order claims epoch 1')) throw new Error(`the failover confirmation said: ${failoverAsked}`);
  log(`failover: ${await page.textContent('#summary')}; timeline: ${await page.textContent('#timeline div[data-kind="stepped_down"]')}`);
  await page.waitForTimeout(1200);  // the map's next read (no longer leading) and the strip's next frame
  const events = await page.textContent('#events');
  if (!events.includes('drain compute 101 under epoch') || !events.includes('200')) throw new Error(`events: ${events}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  log(`screenshot ${screenshot}`);
  // `aether local` gives coordinator 2 an admin listener too, named in coordinator 1's peers: the
  // page knows it, and offers to read it once it leads.
  await page.waitForFunction(() => /1 other coordinator known/.test(document.getElementById('source').textContent), null, { timeout: STEP_MS });
  await page.waitForSelector('#to-leader:not([hidden])', { timeout: STEP_MS });
  const offer = await page.textContent('#to-leader');
  if (!/^coordinator 2 leads at epoch \d+/.test(offer)) throw new Error(`the offer said: ${offer}`);
  await page.click('#to-leader');
  await page.waitForFunction(() => /^coordinator 2 \(leader\)/.test(document.getElementById('summary').textContent), null, { timeout: STEP_MS });
  log(`the page read coordinator 1's peer: ${await page.textContent('#source')}; ${await page.textContent('#summary')}`);
});
