// What the browser tests share (tests/browser/*_test.mjs): the Debian Chromium under playwright-core,
// a work directory, the processes of the cluster under test (`aether local`, or one process per role
// with its own config: startRoles), each waited for by the line it prints once it listens, and the
// end of a run (the browser closed, every process stopped, the directory removed, the exit status).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const log = (m) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

export class Harness {
  constructor(prefix, aether) {
    this.aether = aether;
    this.work = mkdtempSync(join(tmpdir(), `aether-${prefix}-`));
    this.procs = new Map();  // name -> child process
    this.browser = null;
    this.errors = [];        // page errors of every page watched (watch)
  }

  // Starts `aether ARGS...` as `name` and resolves with the match of `ready` on its standard output
  // (its listening line) within timeoutMs; rejects if it exits first. Its stderr goes to ours.
  start(name, args, ready, timeoutMs = 20_000) {
    return new Promise((resolve, reject) => {
      const child = spawn(this.aether, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.procs.set(name, child);
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${name}: no line matching ${ready} within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = out.match(ready);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      child.stderr.on('data', (c) => process.stderr.write(c));
      child.on('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}):\n${out}`)));
    });
  }

  // A path in the work directory.
  path(name) { return join(this.work, name); }

  // `aether local ARGS...` (the whole cluster in one process): the match of `ready`.
  local(args, ready, timeoutMs) { return this.start('local', ['local', ...args], ready, timeoutMs); }

  // Sends `signal` to one process of the cluster (SIGKILL: it dies at once, as a crashed server).
  kill(name, signal = 'SIGKILL') {
    const child = this.procs.get(name);
    if (!child) throw new Error(`no process ${name}`);
    child.kill(signal);
    return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  }

  // `aether operator add`: an operator of `role` in WORK/operators; returns its token.
  operator(name, role) {
    const tokenFile = join(this.work, `${name}.token`);
    execFileSync(this.aether, ['operator', 'add', '--file', join(this.work, 'operators'), '--name', name, '--role', role, '--token-file', tokenFile]);
    return execFileSync('cat', [tokenFile]).toString().trim();
  }

  async launch() {
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    return this.browser;
  }

  // A new page in a context of its own (its own session) that accepts the run's throwaway CA.
  async page(viewport, consoleErrors = false) {
    const context = await this.browser.newContext({ ignoreHTTPSErrors: true, viewport });
    const page = await context.newPage();
    this.watch(page, consoleErrors);
    return page;
  }

  watch(page, consoleErrors = false) {
    page.on('pageerror', (e) => this.errors.push(String(e)));
    if (consoleErrors) page.on('console', (m) => m.type() === 'error' && this.errors.push(m.text()));
  }

  // Runs the test's body; PASS, or FAIL with the error. Then stops everything and exits 0 or 1.
  async run(body) {
    let failed = false;
    try {
      await body();
      if (this.errors.length) throw new Error(`page errors: ${this.errors.join('; ')}`);
      log('PASS');
    } catch (e) {
      failed = true;
      console.error(`FAIL: ${e.stack ?? e}`);
    } finally {
      if (this.browser) await this.browser.close().catch(() => {});
      for (const child of this.procs.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await Promise.all([...this.procs.values()].map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => {
        const t = setTimeout(() => { c.kill('SIGKILL'); r(); }, 10_000);
        c.once('exit', () => { clearTimeout(t); r(); });
      }))));
      rmSync(this.work, { recursive: true, force: true });
    }
    process.exit(failed ? 1 : 0);
  }

  // A cluster of one process per role under mutual TLS (`aether cert cluster`), on loopback:
  // coordinators 1 (leading) and 2 (its vice), each with an admin listener that names the other in
  // admin_peers; compute nodes 101..; gateway 201; a bot process. Resolves with the admin listeners'
  // addresses ({ admin: ['127.0.0.1:P1', '127.0.0.1:P2'] }) once each coordinator prints it.
  async startRoles({ computes = 1, bots = 10, durationS = 120 } = {}) {
    const w = this.work;
    execFileSync(this.aether, ['cert', 'cluster', '--dir', join(w, 'certs'), '--coordinators', '2', '--nodes', String(computes), '--gateways', '1'], { stdio: 'ignore' });
    const [c1, c2, a1, a2, g] = (await freePorts(5)).map((p) => `127.0.0.1:${p}`);
    const tls = (name) => `tls_cert_file: "${w}/certs/${name}.pem"\ntls_key_file: "${w}/certs/${name}.key"\ntls_ca_file: "${w}/certs/ca.pem"\n`;
    const common = `log_level: "warn"\nduration_s: ${durationS}\narena_m: 400\ndata_dir: "${w}/data"\n`;
    const coordinators = [c1, c2];
    const write = (name, text) => writeFileSync(join(w, `${name}.textpb`), text);
    write('coordinator-1', `node_id: 1\nlisten_address: "${c1}"\npeer_address: "${c2}"\npeer_node_id: 2\nteams: 2\n` +
      `admin_address: "${a1}"\noperators_file: "${w}/operators"\nadmin_peers: "${a2}"\n${common}${tls('coordinator-1')}`);
    write('coordinator-2', `node_id: 2\nlisten_address: "${c2}"\npeer_address: "${c1}"\npeer_node_id: 1\nstart_as_vice: true\nteams: 2\n` +
      `admin_address: "${a2}"\noperators_file: "${w}/operators"\nadmin_peers: "${a1}"\n${common}${tls('coordinator-2')}`);
    const coordinatorList = coordinators.map((c) => `coordinator_addresses: "${c}"\n`).join('');
    for (let i = 0; i < computes; ++i) {
      write(`compute-${101 + i}`, `node_id: ${101 + i}\nlisten_address: "127.0.0.1:0"\n${coordinatorList}${common}${tls(`compute-${101 + i}`)}`);
    }
    write('gateway-201', `node_id: 201\nlisten_address: "${g}"\n${coordinatorList}${common}${tls('gateway-201')}`);
    write('bots', `gateway_address: "${g}"\nbots: ${bots}\n${common.replace(/data_dir.*\n/, '')}tls_ca_file: "${w}/certs/ca.pem"\n`);
    const listening = /admin on https:\/\/([^\s/]+)\//;
    const admin = await Promise.all([1, 2].map((n) => this.start(`coordinator-${n}`, ['coordinator', '--config', join(w, `coordinator-${n}.textpb`)], listening)));
    for (let i = 0; i < computes; ++i) this.start(`compute-${101 + i}`, ['compute', '--config', join(w, `compute-${101 + i}.textpb`)], /$^/, 1e9).catch(() => {});
    this.start('gateway-201', ['gateway', '--config', join(w, 'gateway-201.textpb')], /$^/, 1e9).catch(() => {});
    this.start('bots', ['bot', '--config', join(w, 'bots.textpb')], /$^/, 1e9).catch(() => {});
    return { admin: admin.map((m) => m[1]) };
  }
}

// n distinct free TCP ports on loopback (bound at once, then released).
export async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
