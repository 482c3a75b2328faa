// An operator's console survives the death of the coordinator serving it. Headless Debian Chromium
// against a cluster of one process per role (tests/browser/harness.mjs, startRoles): coordinators
// 1 (leading) and 2 (its vice), each with an admin listener naming the other in admin_peers; two
// compute nodes; a gateway; bots. Asserts that the console opened on coordinator 1 knows the other
// listener (GET /api/peers); that a console opened on the vice offers to read the leader, and does
// when asked; that a drain moves entities 101 -> 102 and the entity inspector, opened
// from a migration on the timeline, shows that entity's owner (102), generation, region and its
// migration; that the inspector refuses a malformed id and says an unknown one is not in the table;
// then, with coordinator 1's process killed (SIGKILL), that the page says in a notice that its
// coordinator stopped answering and that it now reads coordinator 2, which leads at a higher epoch,
// its timeline showing it took over; that the inspector reads the same entity from coordinator 2's
// table; and that the drained node's entities stay on 102. Screenshots: the inspector before the
// kill, the console after it (docs/pictures/).
//
// usage: node tests/browser/console_failover_test.mjs AETHER_BINARY SCREENSHOT [INSPECTOR_SCREENSHOT]
import { Harness, log } from './harness.mjs';

const [aether, screenshot, inspectorScreenshot] = process.argv.slice(2);
const STEP_MS = 30_000;
const h = new Harness('console-failover', aether);
const row = (page, node) => page.locator(`#nodes tr[data-node="${node}"]`);

await h.run(async () => {
  const token = h.operator('vera', 'viewer');
  const operatorToken = h.operator('olga', 'operator');
  const { admin } = await h.startRoles({ computes: 2, bots: 16 });
  log(`cluster up: coordinator 1 admin on ${admin[0]}, coordinator 2 admin on ${admin[1]}`);
  await h.launch();
  const page = await h.page({ width: 1280, height: 1000 });
  await page.goto(`https://${admin[0]}/`, { timeout: STEP_MS });
  await page.fill('#token', operatorToken);
  await page.click('#login button');
  await page.waitForFunction(() => /coordinator 1 \(leader\)/.test(document.getElementById('summary').textContent), null, { timeout: STEP_MS });
  await page.waitForFunction(() => /1 other coordinator known/.test(document.getElementById('source').textContent), null, { timeout: STEP_MS });
  await page.waitForFunction(() => ['101', '102'].every((n) => Number(document.querySelector(`#nodes tr[data-node="${n}"]`)?.cells[2].textContent) > 0),
    null, { timeout: STEP_MS });
  const queue = await row(page, '101').locator('td').nth(5).textContent();
  if (!/^\d+$/.test(queue)) throw new Error(`no input queue depth for compute 101: "${queue}"`);
  log(`console on coordinator 1 (leader); ${await page.textContent('#source')}; compute 101's input queue: ${queue}`);

  // A console opened on the vice says so and offers to read the leader; taken up, it reads coordinator 1.
  const vice = await h.page({ width: 1100, height: 700 });
  await vice.goto(`https://${admin[1]}/`, { timeout: STEP_MS });
  await vice.fill('#token', token);
  await vice.click('#login button');
  await vice.waitForFunction(() => /coordinator 2 \((?!leader)\w+\)/.test(document.getElementById('summary').textContent), null, { timeout: STEP_MS });
  await vice.waitForSelector('#to-leader:not([hidden])', { timeout: STEP_MS });
  const offer = await vice.textContent('#to-leader');
  if (!offer.includes(`coordinator 1 leads at epoch 1 (${admin[0]})`)) throw new Error(`the vice's console offers: ${offer}`);
  await vice.click('#to-leader');
  await vice.waitForFunction(() => /coordinator 1 \(leader\)/.test(document.getElementById('summary').textContent), null, { timeout: STEP_MS });
  if (!(await vice.textContent('#notice')).includes('the operator moved to the leader')) throw new Error(`notice: ${await vice.textContent('#notice')}`);
  log(`a console on the vice (a viewer's) offered "${offer}"; taken up, it reads coordinator 1 (leader)`);
  await vice.context().close();

  // A drain, for migrations on the timeline; then the inspector, opened from one of them.
  page.once('dialog', (d) => d.accept());
  await row(page, '101').locator('button[data-drain]').click();
  await page.waitForFunction(() => Number(document.querySelector('#nodes tr[data-node="101"]')?.cells[2].textContent) === 0, null, { timeout: STEP_MS });
  const migration = page.locator('#timeline div[data-kind="migrated"]').first();
  await migration.waitFor({ timeout: STEP_MS });
  const entity = await migration.getAttribute('data-entity');
  await migration.click();
  await page.waitForSelector('#entity tr[data-field="owner"]', { timeout: STEP_MS });
  const owner = await page.textContent('#entity tr[data-field="owner"]');
  if (!owner.includes('compute 102 (')) throw new Error(`entity ${entity}'s owner: ${owner}`);
  const details = await page.textContent('#entity');
  if (!/generation\d+/.test(details) || !/cell \(\d+, \d+\), home compute \d+/.test(details)) throw new Error(`the inspector shows: ${details}`);
  const moves = await page.textContent('#entity-handovers');
  if (!moves.includes(`migrated entity ${entity}: compute 101 -> 102`)) throw new Error(`entity ${entity}'s handovers: ${moves}`);
  log(`inspector: entity ${entity}: ${owner.trim()}; ${moves.trim().split('\n')[0]}`);
  await page.waitForTimeout(600);  // the strip's next frame
  if (inspectorScreenshot) await page.screenshot({ path: inspectorScreenshot, fullPage: true });
  // Malformed and unknown ids.
  await page.fill('#entity-id', '12x');
  await page.click('#inspect button');
  await page.waitForFunction(() => document.getElementById('entity').textContent.includes('a number from 1'), null, { timeout: STEP_MS });
  await page.fill('#entity-id', '999999999999');
  await page.click('#inspect button');
  await page.waitForFunction(() => document.getElementById('entity').textContent.includes('404: entity 999999999999 is not in the table'), null,
    { timeout: STEP_MS });
  log('inspector: a malformed id refused in the page, an unknown one 404 "not in the table"');

  // A viewer may inspect too (views are reads), from the API itself.
  const viewer = await page.evaluate(async ([t, id]) => {
    const r = await fetch(`/api/entity?id=${id}`, { headers: { Authorization: `Bearer ${t}` } });
    return { status: r.status, owner: (await r.json()).owner };
  }, [token, entity]);
  if (viewer.status !== 200 || viewer.owner !== 102) throw new Error(`a viewer's GET /api/entity: ${JSON.stringify(viewer)}`);

  // Kill the leader's process. The page notices, says so, and reads coordinator 2.
  const epochBefore = Number(/at epoch (\d+)/.exec(await page.textContent('#summary'))[1]);
  await h.kill('coordinator-1', 'SIGKILL');
  log(`coordinator 1 killed (SIGKILL) at epoch ${epochBefore}`);
  await page.waitForSelector('#notice:not([hidden])', { timeout: STEP_MS });
  const notice = await page.textContent('#notice');
  if (!notice.includes(`the coordinator at ${admin[0]} stopped answering`) || !notice.includes(`now reading coordinator 2 at ${admin[1]}`)) {
    throw new Error(`the notice says: ${notice}`);
  }
  log(`notice: ${notice.trim()}`);
  await page.waitForFunction((e) => {
    const m = /coordinator 2 \(leader\) at epoch (\d+)/.exec(document.getElementById('summary').textContent);
    return m && Number(m[1]) > e;
  }, epochBefore, { timeout: STEP_MS });
  // (coordinator 1's own `leader` line, from its start, may be further down, under the marker.)
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline div[data-kind="leader"]')]
    .some((d) => d.textContent.includes('coordinator 2 took over as leader')), null, { timeout: STEP_MS });
  const took = await page.$$eval('#timeline div[data-kind="leader"]', (ds) => ds.find((d) => d.textContent.includes('coordinator 2')).textContent);
  const marker = await page.$$eval('#timeline div', (ds) => ds.findIndex((d) => d.textContent.includes('from here on: the log of the coordinator at')));
  const tookAt = await page.$$eval('#timeline div', (ds) => ds.findIndex((d) => d.dataset.kind === 'leader' && d.textContent.includes('coordinator 2')));
  if (marker < 0 || tookAt > marker) throw new Error(`the takeover is not after the marker of the move (line ${tookAt}, marker ${marker})`);
  log(`${await page.textContent('#summary')}; timeline: ${took.trim()}`);
  if (!(await page.textContent('#source')).includes(`reading ${admin[1]}`)) throw new Error(`source: ${await page.textContent('#source')}`);
  // The same entity, from coordinator 2's table: still on 102; the drained node keeps nothing.
  await page.fill('#entity-id', entity);
  await page.click('#inspect button');
  await page.waitForFunction((a) => document.getElementById('entity').textContent.includes(`read fromcoordinator at ${a}`), admin[1], { timeout: STEP_MS });
  const after = await page.textContent('#entity');
  if (!after.includes(admin[1]) || !after.includes('compute 102 (')) throw new Error(`the inspector on coordinator 2: ${after}`);
  await page.waitForFunction(() => Number(document.querySelector('#legend span[data-node="102"]')?.dataset.entities) > 0 &&
    !(Number(document.querySelector('#legend span[data-node="101"]')?.dataset.entities) > 0), null, { timeout: STEP_MS });
  log(`inspector on coordinator 2: entity ${entity} still owned by compute 102; the map has nothing on 101`);
  await page.waitForTimeout(800);  // the strip's next frame
  await page.screenshot({ path: screenshot, fullPage: true });
  log(`screenshot ${screenshot}`);
});
