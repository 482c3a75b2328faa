#include "runtime/real/admin_console.h"

namespace aether::real {

namespace {

constexpr std::string_view kIndex = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Aether console</title>
<link rel="icon" href="data:,">
<style>
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; background: #14181f; color: #e6e9ef; }
header { padding: 10px 16px; background: #1d2430; display: flex; gap: 16px; align-items: center; }
header h1 { font-size: 15px; margin: 0; }
main { padding: 12px 16px; }
input, button { font: inherit; background: #2a3342; color: #e6e9ef; border: 1px solid #4a5870; border-radius: 4px; padding: 4px 8px; }
button.danger { border-color: #a33; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #2a3342; }
.load { position: relative; width: 220px; height: 14px; background: #222a35; border-radius: 3px; overflow: hidden; }
.load div { position: absolute; top: 0; bottom: 0; left: 0; }
.hard { background: #c92a2a; } .soft { background: #e8a33d; opacity: .8; } .opp { background: #3b82c4; opacity: .6; }
.line { position: absolute; top: 0; bottom: 0; width: 2px; background: #fff; }
.bad { color: #ff7b7b; } .muted { opacity: .7; }
#events { margin-top: 12px; max-height: 240px; overflow: auto; font-family: monospace; font-size: 12px; }
.views { display: flex; gap: 24px; margin-top: 16px; flex-wrap: wrap; }
.views section { max-width: 560px; }
.views section:first-child { max-width: 390px; }
.views h2 { font-size: 13px; margin: 0 0 6px; }
#map { background: #0e1117; border: 1px solid #2a3342; image-rendering: pixelated; }
#legend span { display: inline-block; margin-right: 12px; }
#legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; vertical-align: -1px; }
#strip { background: #0e1117; border: 1px solid #2a3342; }
#timeline { margin-top: 6px; max-height: 240px; overflow: auto; font-family: monospace; font-size: 12px; width: 540px; }
#timeline div[data-entity] { cursor: pointer; }
#notice { margin: 0 0 10px; padding: 6px 10px; background: #5c3b0c; border: 1px solid #e8a33d; border-radius: 4px; }
#entity table { width: auto; margin-top: 6px; }
#entity td:first-child { opacity: .7; }
#entity-handovers { font-family: monospace; font-size: 12px; margin-top: 6px; }
</style>
</head>
<body>
<header><h1>Aether console</h1>
<form id="login"><input id="token" type="password" placeholder="operator token NAME.SECRET" size="40" autocomplete="off"> <button>Sign in</button></form>
<span id="who" class="muted"></span><span id="source" data-test="source" class="muted"></span></header>
<main>
<div id="notice" data-test="notice" hidden></div>
<div><span id="summary" data-test="summary" class="muted">Sign in with an operator token (aether operator add).</span>
<button id="failover" class="danger" data-test="failover" hidden>Failover</button>
<button id="to-leader" data-test="to-leader" hidden></button></div>
<table id="nodes" data-test="nodes"><thead><tr><th>node</th><th>state</th><th>entities</th><th>load (hard, soft, opportunistic; the line is N/(N+1))</th><th>tick p99</th><th>input queue</th><th></th></tr></thead><tbody></tbody></table>
<div class="views">
<section><h2>Ownership: cells tinted by their home node; entities as squares in their owner's colour</h2>
<canvas id="map" data-test="map" width="384" height="384"></canvas>
<div id="legend" data-test="legend"></div></section>
<section><h2>Migrations and failovers, the last two minutes (newest right)</h2>
<canvas id="strip" data-test="strip" width="540" height="120"></canvas>
<div id="timeline" data-test="timeline"></div></section>
<section><h2>Entity inspector (GET /api/entity, /api/ghosts): its owner, ghosts, subscriptions, last inputs and intents, timeline</h2>
<form id="inspect"><input id="entity-id" data-test="entity-id" placeholder="entity id" size="14" autocomplete="off"> <button>Inspect</button></form>
<div id="entity" data-test="entity"></div></section>
</div>
<div id="events" data-test="events"></div>
</main>
<script src="console.js"></script>
</body>
</html>
)HTML";

constexpr std::string_view kScript = R"JS('use strict';
// Reads GET /api/nodes every second (the coordinator's lines, parsed here) and sends drains; draws
// the ownership map and the handover timeline from the structured views.
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('aether-token') || '';
let epoch = 0;
let leading = null;  // whether the coordinator we read leads (null: not read yet)
const seen = new Map();  // node -> its last line, to note changes as events
let movable = [];  // compute nodes up and not draining: where "move entity to node" may send one
const debugged = { entities: new Set(), nodes: new Set() };  // from GET /api/debug, read on sign-in and after each toggle

function event(text) {
  const line = document.createElement('div');
  line.textContent = new Date().toISOString().slice(11, 19) + '  ' + text;
  $('events').prepend(line);
  while ($('events').childElementCount > 200) $('events').lastChild.remove();
}

// The coordinators' listeners this page may read: its own first, then the peers its coordinator
// names (GET /api/peers). It reads one at a time; when that one stops answering (kMissesToMove reads
// in a row fail on the network), it says so in a notice and moves to the next that answers, with
// the same token (every coordinator of a cluster shares the operators file).
const endpoints = [location.origin];
let current = 0;
let misses = 0;
const kMissesToMove = 2;
const host = (i) => endpoints[i].replace(/^https:\/\//, '');

async function api(method, path, body, at = current) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const r = await fetch(endpoints[at] + path, { method, headers, body, cache: 'no-store', signal: AbortSignal.timeout(2500) });
  let j = {};
  try { j = await r.json(); } catch (e) { j = { error: 'not JSON' }; }
  return { status: r.status, j };
}

// "compute 101 at 127.0.0.1:7001 up assigned 12 reported 12 capacity-load 300 hard 120 soft 40
//  opportunistic 10 permille load-level 0 tick-p99 1.234 ms heard 40 ms ago epoch 3"
//  input-queue 0"
const NODE = /^(\w+) (\d+) at (\S+) (\w+)( draining)? assigned (\d+) reported (\d+) capacity-load (\d+) hard (\d+) soft (\d+) opportunistic (\d+) permille load-level (\d+) tick-p99 ([\d.]+) ms heard (\d+) ms ago epoch (\d+)(?: input-queue (\d+))?$/;

function bar(n, cls, permille) {
  const d = document.createElement('div');
  d.className = cls;
  d.style.width = Math.min(100, permille / 10) + '%';
  n.appendChild(d);
}

function render(lines) {
  const head = /coordinator (\d+) (\w+) at epoch (\d+): (\d+) entities, (\d+) orphaned, (\d+) migrating/.exec(lines[0] || '');
  if (head) {
    epoch = Number(head[3]);
    $('summary').textContent = `coordinator ${head[1]} (${head[2]}) at epoch ${head[3]}: ${head[4]} entities, ${head[5]} orphaned, ${head[6]} migrating`;
    if (leading !== null && leading !== (head[2] === 'leader')) event(`coordinator ${head[1]}: ${leading ? 'leader' : head[2]} -> ${head[2]} (epoch ${head[3]})`);
    leading = head[2] === 'leader';
    $('failover').hidden = !leading;
    if (!leading) findLeader();
    else $('to-leader').hidden = true;
  }
  const nodes = lines.slice(1).map((l) => NODE.exec(l)).filter(Boolean);
  movable = nodes.filter((m) => m[1] === 'compute' && m[4] === 'up' && !m[5]).map((m) => m[2]);
  const computes = nodes.filter((m) => m[1] === 'compute').length;
  const line = computes > 0 ? (1000 * computes) / (computes + 1) : 1000;
  const body = $('nodes').tBodies[0];
  body.textContent = '';
  for (const m of nodes) {
    const [, role, id, addr, up, draining, assigned, , , hard, soft, opp, , p99, , , queue] = m;
    const key = role + ' ' + id;
    const state = up + (draining ? ' draining' : '');
    const before = seen.get(key);
    if (before && before.state !== state) event(`${key}: ${before.state} -> ${state}`);
    if (before && role === 'compute' && before.assigned !== assigned) event(`${key}: entities ${before.assigned} -> ${assigned}`);
    seen.set(key, { state, assigned });
    const tr = body.insertRow();
    tr.dataset.node = id;
    tr.insertCell().textContent = `${key} (${addr})`;
    const st = tr.insertCell();
    st.textContent = state;
    if (up !== 'up') st.className = 'bad';
    tr.insertCell().textContent = role === 'compute' ? assigned : '';
    const load = tr.insertCell();
    if (role === 'compute') {
      const n = document.createElement('div');
      n.className = 'load';
      n.title = `hard ${hard}, soft ${soft}, opportunistic ${opp} permille`;
      bar(n, 'opp', Number(hard) + Number(soft) + Number(opp));
      bar(n, 'soft', Number(hard) + Number(soft));
      bar(n, 'hard', Number(hard));
      const l = document.createElement('div');
      l.className = 'line';
      l.style.left = line / 10 + '%';
      n.appendChild(l);
      load.appendChild(n);
    }
    tr.insertCell().textContent = role === 'compute' ? p99 + ' ms' : '';
    tr.insertCell().textContent = role === 'compute' && queue !== undefined ? queue : '';
    const act = tr.insertCell();
    if (role === 'compute') {
      const d = document.createElement('button');
      const on = debugged.nodes.has(id);
      d.textContent = on ? 'Debug off' : 'Debug';
      d.dataset.debugNode = id;
      d.onclick = () => toggleDebug('node', id, !on);
      act.appendChild(d);
      act.append(' ');
    }
    if (role === 'compute' && !draining) {
      const b = document.createElement('button');
      b.className = 'danger';
      b.textContent = 'Drain';
      b.dataset.drain = id;
      b.onclick = () => drain(id);
      act.appendChild(b);
    }
  }
}

// --- Ownership map (GET /api/ownership) and timeline (GET /api/timeline?after=SEQ) ---
const PALETTE = ['#4aa3ff', '#ff9f43', '#2ecc71', '#e056fd', '#f6e58d', '#7ed6df', '#ff6b6b', '#c7ecee'];
const colours = new Map();  // node -> colour, in the order nodes are first seen
function colour(node) {
  if (node === 0) return '#555';
  if (!colours.has(node)) colours.set(node, PALETTE[colours.size % PALETTE.length]);
  return colours.get(node);
}

function drawMap(v) {
  const c = $('map');
  const g = c.getContext('2d');
  const px = c.width / v.side;
  g.fillStyle = '#0e1117';
  g.fillRect(0, 0, c.width, c.height);
  // Regions: each cell tinted by its home; y grows upward in the arena, downward on the canvas.
  g.globalAlpha = 0.22;
  for (let y = 0; y < v.side; ++y) {
    for (let x = 0; x < v.side; ++x) {
      const home = v.homes[y * v.side + x];
      if (!home) continue;
      g.fillStyle = colour(home);
      g.fillRect(x * px, (v.side - 1 - y) * px, px, px);
    }
  }
  g.globalAlpha = 1;
  let most = 1;
  for (const [, , , n] of v.cells) most = Math.max(most, n);
  for (const [x, y, owner, n] of v.cells) {
    const size = Math.max(2, px * Math.sqrt(n / most));
    g.fillStyle = colour(owner);
    g.fillRect(x * px + (px - size) / 2, (v.side - 1 - y) * px + (px - size) / 2, size, size);
  }
  const legend = $('legend');
  legend.textContent = '';
  for (const [node, n] of v.nodes) {
    const s = document.createElement('span');
    s.dataset.node = node;
    s.dataset.entities = n;
    s.innerHTML = '<i></i>';
    s.firstChild.style.background = colour(node);
    s.append(`compute ${node}: ${n} entities`);
    legend.appendChild(s);
  }
  const extra = document.createElement('span');
  extra.className = 'muted';
  extra.textContent = `epoch ${v.epoch}${v.leading ? '' : ' (not leading: the map is the last leader\'s cut)'} · ${v.orphans} orphaned` +
    (v.cells_dropped ? ` · ${v.cells_dropped} cells not shown` : '');
  legend.appendChild(extra);
}

let lastSeq = 0;
let timeline = [];     // {seq, kind, ..., wall}: newest last, at most 500
const KINDS = ['migrated', 'drain', 'node_lost', 'node_restarted', 'leader', 'stepped_down'];
function describeEvent(e) {
  switch (e.kind) {
    case 'migrated': return `migrated entity ${e.entity}: compute ${e.from} -> ${e.to}`;
    case 'node_lost': return `FAILOVER: compute ${e.from} lost, ${e.count} entities re-granted elsewhere`;
    case 'node_restarted': return `compute ${e.from} restarted: ${e.count} entities re-granted`;
    case 'drain': return `drain of compute ${e.from} ordered (${e.count} entities to move)`;
    case 'leader': return `coordinator ${e.to} took over as leader at epoch ${e.epoch}`;
    case 'stepped_down': return `FAILOVER: coordinator ${e.from} stepped down at epoch ${e.epoch}; the vice leads`;
  }
  return e.kind;
}
function takeTimeline(j) {
  const now = Date.now();
  if (j.events.length && j.events[0].seq > lastSeq + 1 && lastSeq > 0) event(`timeline: ${j.events[0].seq - lastSeq - 1} events were missed (the coordinator keeps the newest)`);
  for (const e of j.events) {
    e.wall = now - (j.now_ms - e.at_ms);  // its age on the coordinator's clock, placed on ours
    timeline.push(e);
    const line = document.createElement('div');
    line.dataset.kind = e.kind;
    line.textContent = `${new Date(e.wall).toISOString().slice(11, 19)}  #${e.seq}  ${describeEvent(e)}`;
    if (e.entity) {
      line.dataset.entity = e.entity;
      line.title = 'inspect this entity';
      line.onclick = () => inspect(String(e.entity));
    }
    if (e.kind === 'node_lost' || e.kind === 'stepped_down') line.className = 'bad';
    $('timeline').prepend(line);
    lastSeq = Math.max(lastSeq, e.seq);
  }
  if (j.last > lastSeq) lastSeq = j.last;
  while ($('timeline').childElementCount > 300) $('timeline').lastChild.remove();
  if (timeline.length > 500) timeline = timeline.slice(-500);
}
function drawStrip() {
  const c = $('strip');
  const g = c.getContext('2d');
  const span = 120000, now = Date.now();
  g.fillStyle = '#0e1117';
  g.fillRect(0, 0, c.width, c.height);
  const lane = c.height / KINDS.length;
  g.font = '10px system-ui';
  KINDS.forEach((k, i) => {
    g.fillStyle = '#556';
    g.fillText(k, 4, i * lane + lane - 4);
  });
  for (const e of timeline) {
    const x = c.width - ((now - e.wall) / span) * (c.width - 90);
    if (x < 90) continue;
    const i = Math.max(0, KINDS.indexOf(e.kind));
    g.fillStyle = e.kind === 'node_lost' || e.kind === 'stepped_down' ? '#ff5a5a' : colour(e.to || e.from);
    g.fillRect(x - 1, i * lane + 2, e.kind === 'migrated' ? 2 : 4, lane - 4);
  }
}
setInterval(drawStrip, 250);

async function refreshViews() {
  if (!token || moving) return;
  try {
    const o = await api('GET', '/api/ownership');
    if (o.status === 200) drawMap(o.j);
    const t = await api('GET', `/api/timeline?after=${lastSeq}`);
    if (t.status === 200) takeTimeline(t.j);
  } catch (e) {
    // the nodes table says the coordinator does not answer
  }
}

// The leader steps down and its vice takes over (an order: the operator role, under the epoch read last).
async function failover() {
  if (!confirm(`Fail over: coordinator leadership moves to the vice. The order claims epoch ${epoch}.`)) return;
  const r = await api('POST', '/api/failover', `epoch=${epoch}`);
  event(`failover under epoch ${epoch}: ${r.status} ${(r.j.lines || [r.j.error || '']).join('; ')}`);
}
$('failover').onclick = failover;

async function drain(id) {
  if (!confirm(`Drain compute ${id}? Its entities move to the other nodes. The order claims epoch ${epoch}.`)) return;
  const r = await api('POST', '/api/drain', `node=${encodeURIComponent(id)}&epoch=${epoch}`);
  event(`drain compute ${id} under epoch ${epoch}: ${r.status} ${(r.j.lines || [r.j.error || '']).join('; ')}`);
}

// --- Targeted debug (GET/POST /api/debug) and move (POST /api/move): orders, each confirmed first ---
async function readDebug() {
  try {
    const r = await api('GET', '/api/debug');
    if (r.status !== 200) return;
    // "debugging 2 of at most 64 entities: 17 23" / "debugging 0 of at most 16 nodes: none"
    for (const l of r.j.lines || []) {
      const m = /^debugging \d+ of at most \d+ (entities|nodes):(.*)$/.exec(l);
      if (!m) continue;
      const set = m[1] === 'entities' ? debugged.entities : debugged.nodes;
      set.clear();
      for (const id of m[2].trim().split(' ')) if (/^\d+$/.test(id)) set.add(id);
    }
  } catch (e) {
    // read again at the next toggle or inspection
  }
}
async function toggleDebug(what, id, on) {
  const name = what === 'node' ? `compute ${id}` : `entity ${id}`;
  if (!confirm(`Turn debug ${on ? 'on' : 'off'} for ${name}? ${on ? 'Its inputs, intents and states are traced and logged verbosely.' : ''} ` +
               `The order claims epoch ${epoch}.`)) {
    event(`debug ${on ? 'on' : 'off'} for ${name}: dismissed, nothing sent`);
    return;
  }
  const r = await api('POST', '/api/debug', `${what}=${encodeURIComponent(id)}${on ? '' : '&off=1'}&epoch=${epoch}`);
  event(`debug ${on ? 'on' : 'off'} for ${name} under epoch ${epoch}: ${r.status} ${(r.j.lines || [r.j.error || '']).join('; ')}`);
  await readDebug();
  refresh();
  if (what === 'entity' && inspected === id) inspect(id, true);
}
async function moveEntity(id, node) {
  if (!confirm(`Move entity ${id} to compute ${node}? It migrates live (its owner hands it over). The order claims epoch ${epoch}.`)) {
    event(`move entity ${id} to compute ${node}: dismissed, nothing sent`);
    return;
  }
  const r = await api('POST', '/api/move', `entity=${encodeURIComponent(id)}&node=${encodeURIComponent(node)}&epoch=${epoch}`);
  event(`move entity ${id} to compute ${node} under epoch ${epoch}: ${r.status} ${(r.j.lines || [r.j.error || '']).join('; ')}`);
  if (inspected === id) inspect(id, true);
}

// --- Entity inspector (GET /api/entity?id=E, and GET /api/ghosts?id=E: what the compute nodes hold) ---
// The entity shown is read again every 2 s for kInspectFollowMs (the owner keeps its last inputs and
// intents while it is asked about: engine/compute/entity_journal.h).
const kInspectFollowMs = 60000;
let inspected = '';
let inspectedUntil = 0;
let inspecting = false;
function cellRow(table, name, value, field) {
  const tr = table.insertRow();
  tr.insertCell().textContent = name;
  const td = tr.insertCell();
  if (value instanceof Node) td.appendChild(value); else td.textContent = value;
  if (field) tr.dataset.field = field;
  return td;
}
function listOf(lines, empty) {
  const d = document.createElement('div');
  if (!lines.length) d.textContent = empty;
  for (const l of lines) {
    const row = document.createElement('div');
    row.textContent = l;
    d.appendChild(row);
  }
  return d;
}
// The compute nodes' answers to the ghost query, by kind (the lines of ComputeNode::answer_admin).
function sortGhostLines(lines) {
  const out = { owners: [], ghosts: [], feeds: [], inputs: [], intents: [], other: [] };
  for (const l of lines) {
    if (/^compute \d+ owns it/.test(l)) out.owners.push(l);
    else if (/^compute \d+ holds a ghost from owner \d+/.test(l)) out.ghosts.push(l.replace(/^compute (\d+) holds a ghost from owner \d+: /, 'compute $1: '));
    else if (/^compute \d+ feeds it to /.test(l)) out.feeds.push(l.replace(/^compute (\d+) feeds it to /, 'from compute $1 to '));
    else if (/^compute \d+ input at tick /.test(l)) out.inputs.push(l.replace(/^compute \d+ input at /, ''));
    else if (/^compute \d+ intent at tick /.test(l)) out.intents.push(l.replace(/^compute \d+ intent at /, ''));
    else if (!/neither owns nor ghosts it/.test(l)) out.other.push(l);
  }
  return out;
}
async function inspect(id, again = false) {
  $('entity-id').value = id;
  const pane = $('entity');
  if (!again) {
    inspected = '';
    pane.textContent = '';
  }
  if (!/^[1-9]\d{0,19}$/.test(id)) {
    pane.textContent = 'an entity id is a number from 1';
    return;
  }
  if (inspecting) return;
  inspecting = true;
  let r, g;
  try {
    r = await api('GET', `/api/entity?id=${id}`);
    g = r.status === 200 ? await api('GET', `/api/ghosts?id=${id}`) : null;
    if (!again) await readDebug();
  } catch (e) {
    pane.textContent = `the coordinator does not answer (${e})`;
    return;
  } finally {
    inspecting = false;
  }
  if (again && inspected !== id) return;  // the operator opened another meanwhile
  pane.textContent = '';
  pane.dataset.status = r.status;
  if (r.status !== 200) {
    pane.textContent = `${r.status}: ${r.j.error || ''}`;
    pane.className = 'bad';
    inspected = '';
    return;
  }
  if (!again) inspectedUntil = Date.now() + kInspectFollowMs;
  inspected = id;
  pane.className = '';
  const v = r.j;
  const nodes = sortGhostLines(g && g.status === 200 ? g.j.lines || [] : []);
  const t = document.createElement('table');
  cellRow(t, 'entity', `${v.entity} (kind ${v.kind}, team ${v.team})`);
  cellRow(t, 'owner', v.owner ? `compute ${v.owner} (${v.owner_state})` : 'none: orphaned, waiting for a new owner', 'owner');
  cellRow(t, 'generation', v.generation);
  cellRow(t, 'migrating', v.migrating_to ? `to compute ${v.migrating_to}` : 'no');
  cellRow(t, 'position', `(${(v.x_mm / 1000).toFixed(1)}, ${(v.y_mm / 1000).toFixed(1)}) m, hp ${v.hp}, version ${v.version}`);
  cellRow(t, 'region', `cell (${v.cell[0]}, ${v.cell[1]}), home compute ${v.home || '-'}`);
  cellRow(t, 'gateway', v.gateway ? `gateway ${v.gateway}, session ${v.session}${v.detached ? ' (detached)' : ''}` : '-');
  cellRow(t, 'owner says', listOf(nodes.owners.concat(nodes.other), g ? `no compute node answered (${g.status} ${g.j.error || ''})` : '-'), 'owner-says');
  cellRow(t, 'ghosts', listOf(nodes.ghosts, 'no compute node holds a ghost of it'), 'ghosts');
  cellRow(t, 'subscriptions', listOf(nodes.feeds, 'no feed carries it'), 'subscriptions');
  cellRow(t, "last inputs (the newest 8)", listOf(nodes.inputs, 'none recorded yet (kept from the first inspection)'), 'inputs');
  cellRow(t, "last intents (the newest 8)", listOf(nodes.intents, 'none recorded yet'), 'intents');
  cellRow(t, 'read from', `coordinator at ${host(current)}, epoch ${v.epoch}${v.leading ? '' : ' (not leading: a replica)'}`);
  // Orders on this entity: debug on or off, move to another compute node (each confirmed first).
  const act = document.createElement('div');
  const on = debugged.entities.has(String(v.entity));
  const d = document.createElement('button');
  d.textContent = on ? 'Debug off' : 'Debug';
  d.dataset.test = 'entity-debug';
  d.onclick = () => toggleDebug('entity', String(v.entity), !on);
  act.appendChild(d);
  act.append(' move to ');
  const sel = document.createElement('select');
  sel.dataset.test = 'move-to';
  for (const n of movable) {
    if (n === String(v.owner)) continue;
    const o = document.createElement('option');
    o.value = n;
    o.textContent = `compute ${n}`;
    sel.appendChild(o);
  }
  act.appendChild(sel);
  const m = document.createElement('button');
  m.className = 'danger';
  m.textContent = 'Move';
  m.dataset.test = 'move';
  m.disabled = sel.options.length === 0;
  m.onclick = () => moveEntity(String(v.entity), sel.value);
  act.appendChild(m);
  if (on) act.append(' (debugged)');
  cellRow(t, 'orders', act, 'orders');
  pane.appendChild(t);
  const h = document.createElement('div');
  h.id = 'entity-handovers';
  h.textContent = v.handovers.length ? 'its timeline (migrations, newest last):' : 'no handover of it in the coordinator\'s recent log';
  for (const e of v.handovers) {
    const line = document.createElement('div');
    line.dataset.kind = e.kind;
    line.textContent = `#${e.seq}  ${Math.round((v.now_ms - e.at_ms) / 1000)} s ago  epoch ${e.epoch}  ${describeEvent(e)}`;
    h.appendChild(line);
  }
  pane.appendChild(h);
}
setInterval(() => {
  if (token && inspected && !moving && Date.now() < inspectedUntil && !document.activeElement?.closest?.('#entity')) inspect(inspected, true);
}, 2000);
$('inspect').onsubmit = (ev) => {
  ev.preventDefault();
  inspect($('entity-id').value.trim());
};

// --- Following the coordinators: this page's own, then its peers ---
async function learnPeers() {
  try {
    const r = await api('GET', '/api/peers');
    if (r.status !== 200) return;
    for (const p of r.j.peers || []) if (!endpoints.includes(p)) endpoints.push(p);
  } catch (e) {
    // asked again at the next sign-in or move
  }
}
function showSource() {
  $('source').textContent = `reading ${host(current)}` + (endpoints.length > 1 ? ` (${endpoints.length - 1} other coordinator${endpoints.length > 2 ? 's' : ''} known)` : '');
}
// Reads coordinator `next` from now on (its /api/nodes answer `r` in hand), with a notice saying why.
function switchTo(next, r, why) {
  const from = current;
  current = next;
  const head = /coordinator (\d+) (\w+) at epoch (\d+)/.exec((r.j.lines || [])[0] || '') || [];
  const notice = $('notice');
  notice.hidden = false;
  notice.textContent = `${new Date().toISOString().slice(11, 19)}  ${why}; ` +
    `now reading coordinator ${head[1] || '?'} at ${host(next)} (${head[2] || '?'}, epoch ${head[3] || '?'})`;
  event(`moved from ${host(from)} to ${host(next)}: ${why}`);
  // Another coordinator numbers its handovers anew: read its whole log, after a marker.
  lastSeq = 0;
  const mark = document.createElement('div');
  mark.className = 'muted';
  mark.textContent = `— from here on: the log of the coordinator at ${host(next)} —`;
  $('timeline').prepend(mark);
  seen.clear();
  leading = null;
  misses = 0;
  $('to-leader').hidden = true;
  showSource();
  render(r.j.lines || []);
  learnPeers();
}

let moving = false;
async function moveOn(why) {
  if (moving || endpoints.length < 2) return false;
  moving = true;
  const from = current;
  try {
    for (let k = 1; k < endpoints.length; ++k) {
      const next = (from + k) % endpoints.length;
      try {
        const r = await api('GET', '/api/nodes', undefined, next);
        if (r.status !== 200) continue;
        switchTo(next, r, `the coordinator at ${host(from)} stopped answering (${why})`);
        return true;
      } catch (e) {
        // that one does not answer either: try the next
      }
    }
    return false;
  } finally {
    moving = false;
  }
}

// The coordinator read does not lead: ask the others (at most every 3 s) and offer to read the one
// that does (orders go to the coordinator read; the leader is the one that carries them out).
let leaderAsked = 0;
async function findLeader() {
  if (endpoints.length < 2 || Date.now() - leaderAsked < 3000) return;
  leaderAsked = Date.now();
  for (let i = 0; i < endpoints.length; ++i) {
    if (i === current) continue;
    try {
      const r = await api('GET', '/api/nodes', undefined, i);
      const head = /coordinator (\d+) leader at epoch (\d+)/.exec((r.j.lines || [])[0] || '');
      if (r.status !== 200 || !head || leading !== false) continue;
      const b = $('to-leader');
      b.textContent = `coordinator ${head[1]} leads at epoch ${head[2]} (${host(i)}): read it`;
      b.hidden = false;
      b.onclick = () => switchTo(i, r, `the operator moved to the leader`);
      return;
    } catch (e) {
      // not answering: not the leader we can read
    }
  }
}

async function refresh() {
  if (!token || moving) return;
  try {
    const r = await api('GET', '/api/nodes');
    misses = 0;
    if (r.status === 200) {
      $('who').textContent = `${r.j.operator} (${r.j.role})`;
      render(r.j.lines || []);
    } else {
      $('summary').textContent = `GET /api/nodes: ${r.status} ${r.j.error || r.j.verdict || ''}`;
      if (r.status === 401) { token = ''; sessionStorage.removeItem('aether-token'); }
    }
  } catch (e) {
    $('summary').textContent = `the coordinator at ${host(current)} does not answer (${e})`;
    if (++misses >= kMissesToMove) moveOn(`${misses} reads in a row failed: ${e.name || e}`);
  }
}

$('login').onsubmit = (ev) => {
  ev.preventDefault();
  token = $('token').value.trim();
  $('token').value = '';
  sessionStorage.setItem('aether-token', token);
  refresh();
  refreshViews();
  // One after the other: the listener takes at most 4 connections from one address at once.
  learnPeers().then(showSource).then(readDebug);
};
setInterval(refresh, 1000);
setInterval(refreshViews, 1000);
refresh();
refreshViews();
showSource();
if (token) learnPeers().then(showSource).then(readDebug);
)JS";

constexpr ConsoleFile kFiles[] = {{"text/html; charset=utf-8", kIndex}, {"text/javascript; charset=utf-8", kScript}};

}  // namespace

std::string console_content_security_policy(const std::vector<std::string>& peer_origins) {
  std::string sources = "'self'";
  for (const std::string& o : peer_origins) sources += " " + o;
  return "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src " + sources + "; frame-ancestors 'none'";
}

const ConsoleFile* admin_console_file(std::string_view path) {
  if (path == "/" || path == "/index.html") return &kFiles[0];
  if (path == "/console.js") return &kFiles[1];
  return nullptr;
}

}  // namespace aether::real
