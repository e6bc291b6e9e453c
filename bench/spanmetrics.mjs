// Spans in, RED metrics out, side by side: the collector's OTLP ingest of SERVER spans (request
// duration histograms on /metrics) against the OpenTelemetry Collector's spanmetrics connector
// with its Prometheus exporter, on this machine, under the same load, one after the other.
//
//     npm run build && bash scripts/build-otelcol-spanmetrics.sh
//     node bench/spanmetrics.mjs [--seconds 600] [--rate 20000] [--batch 500] [--targets wsgiscope,otelcol]
//
// The load: OTLP/HTTP protobuf ExportTraceServiceRequest batches of `--batch` SERVER spans, each
// batch from one of 4 services (one instance each), its spans spread over 5 routes x 3 statuses
// x 2 methods (so 120 label sets in all, for both targets), durations log-uniform from 1 ms to
// 2 s. 64 batches are encoded once up front (with protobufjs and the vendored protos in
// collector/vendor/opentelemetry-proto, loaded by the collector's otlp/proto), so this process only paces and sends: `--rate` spans per second over
// loopback, 4 connections kept alive, at most 16 requests in flight. Every 10 s it reads the
// target's CPU time (utime + stime from /proc/<pid>/stat) and RSS (VmRSS), and scrapes its
// /metrics for the total request count, as a Prometheus would. At the end it waits for the
// target to publish everything (the spanmetrics connector flushes every 5 s here) and checks
// that the count on /metrics equals the spans acknowledged, so nothing is silently dropped.
//
// Prints, per target, CPU-seconds per span (over the loaded window only), the RSS series, the
// counts, and the ratio of the two CPU costs; --json FILE also writes the figures.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { built, root, seeded } from './_common.mjs';

const HELP = `usage: node bench/spanmetrics.mjs [options]

  --seconds N     seconds of load per target (default 600)
  --rate N        spans per second sent (default 20000)
  --batch N       spans per ExportTraceServiceRequest (default 500)
  --targets LIST  comma-separated, run in this order: wsgiscope,otelcol (default both)
  --otelcol PATH  the OpenTelemetry Collector binary with the spanmetrics connector
                  (default: what scripts/build-otelcol-spanmetrics.sh --path prints)
  --json FILE     also write the results as JSON
  --help          this text

Needs the built collector (npm run build) and, for the otelcol target, the binary built by
scripts/build-otelcol-spanmetrics.sh. Loopback only; each target is started and stopped here.`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
/**
 * @param {string} name
 * @returns {string | undefined}
 */
function option(name) {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = /** @type {string | undefined} */ (argv[i + 1]);
  if (value === undefined) throw new Error(`--${name} needs a value`);
  return value;
}
/**
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
function numberOption(name, fallback) {
  const text = option(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} wants a positive number, not ${text}`);
  return value;
}

const SECONDS = numberOption('seconds', 600);
const RATE = numberOption('rate', 20000);
const BATCH = Math.floor(numberOption('batch', 500));
const TARGETS = (option('targets') ?? 'wsgiscope,otelcol').split(',').filter((t) => t !== '');
const JSON_FILE = option('json');
const SAMPLE_MS = 10_000;
const MAX_IN_FLIGHT = 16;

const SERVICES = ['checkout', 'catalog', 'accounts', 'search'].map((s) => `spanbench-${s}`);
const ROUTES = ['/', '/items/{id}', '/items', '/cart', '/login'];
const STATUSES = [200, 404, 500];
const METHODS = ['GET', 'POST'];
const BOUNDS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

// ---------------------------------------------------------------------------------------------
// The load, encoded once.

const { otlpTypes } = /** @type {typeof import('../collector/src/otlp/proto.js')} */ (built('collector/dist/otlp/proto.js'));

/**
 * @param {string} key
 * @param {string | number} value
 */
const attribute = (key, value) => ({ key, value: typeof value === 'number' ? { intValue: value } : { stringValue: value } });

/**
 * One encoded ExportTraceServiceRequest: `BATCH` SERVER spans of one service.
 * @param {number} service
 * @param {() => number} rand
 * @returns {Buffer}
 */
function encodeBatch(service, rand) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = [];
  for (let i = 0; i < BATCH; i++) {
    const route = ROUTES[i % ROUTES.length];
    const status = STATUSES[Math.floor(i / ROUTES.length) % STATUSES.length];
    const method = METHODS[Math.floor(i / (ROUTES.length * STATUSES.length)) % METHODS.length];
    const durationNs = BigInt(Math.floor(1e6 * 2000 ** rand())); // 1 ms .. 2 s, log-uniform
    const start = now - 5_000_000_000n + BigInt(i) * 1000n;
    spans.push({
      traceId: randomBytes(16),
      spanId: randomBytes(8),
      name: `${method} ${route}`,
      kind: 2, // SPAN_KIND_SERVER
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + durationNs).toString(),
      attributes: [
        attribute('http.request.method', method),
        attribute('http.route', route),
        attribute('http.response.status_code', status),
        attribute('url.scheme', 'http'),
        attribute('server.address', 'localhost'),
        attribute('network.protocol.version', '1.1'),
      ],
      status: status >= 500 ? { code: 2 } : {},
    });
  }
  const { exportTraceRequest } = otlpTypes();
  const message = exportTraceRequest.fromObject({
    resourceSpans: [{
      resource: {
        attributes: [
          attribute('service.name', SERVICES[service]),
          attribute('service.instance.id', `${SERVICES[service]}-1`),
          attribute('telemetry.sdk.language', 'python'),
          attribute('telemetry.sdk.name', 'opentelemetry'),
          attribute('telemetry.sdk.version', '1.39.0'),
        ],
      },
      scopeSpans: [{ scope: { name: 'opentelemetry.instrumentation.wsgi', version: '0.60b0' }, spans }],
    }],
  });
  return Buffer.from(exportTraceRequest.encode(message).finish());
}

const rand = seeded(7);
/** @type {Buffer[]} */
const BODIES = Array.from({ length: 64 }, (_, i) => encodeBatch(i % SERVICES.length, rand));

// ---------------------------------------------------------------------------------------------
// Processes, HTTP and /proc.

/** @returns {Promise<number>} a port free on loopback right now */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => { resolve(port); });
    });
  });
}

/**
 * CPU seconds (user + system) and RSS bytes of a process, from /proc.
 * @param {number} pid
 * @returns {{ cpu: number, rss: number }}
 */
function usage(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100/s)
  const rssKb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu: ticks / 100, rss: rssKb === null ? 0 : Number(rssKb[1]) * 1024 };
}

// FIFO hands out the connection idle longest, so at 40 requests/s none sits idle past the
// server's keep-alive timeout (Node's 5 s), where a reused socket can be reset as it closes.
const agent = new Agent({ keepAlive: true, maxSockets: 4, scheduling: 'fifo' });

/**
 * @param {number} port
 * @param {string} path
 * @param {'GET' | 'POST'} method
 * @param {Buffer | undefined} body
 * @returns {Promise<{ status: number, text: string }>}
 */
function http(port, path, method, body) {
  return new Promise((resolve, reject) => {
    /** @type {Record<string, string | number>} */
    const headers = body === undefined ? {} : { 'content-type': 'application/x-protobuf', 'content-length': body.length };
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (/** @type {Buffer} */ c) => { chunks.push(c); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sum of the samples of `family` (a regular expression on the metric name) on a Prometheus
 * text page, over the lines that carry one of the benchmark's services.
 * @param {string} page
 * @param {RegExp} family
 * @returns {number}
 */
function sumFamily(page, family) {
  let total = 0;
  for (const line of page.split('\n')) {
    if (line.startsWith('#') || !line.includes('spanbench-')) continue;
    const brace = line.indexOf('{');
    if (brace < 0 || !family.test(line.slice(0, brace))) continue;
    total += Number(line.slice(line.lastIndexOf('}') + 1).trim().split(' ')[0]);
  }
  return total;
}

/**
 * @typedef {object} Target
 * @property {string} name
 * @property {string} description
 * @property {number} pid
 * @property {number} otlpPort
 * @property {number} metricsPort
 * @property {RegExp} countFamily the metric whose samples add up to the spans counted
 * @property {number} settleMs how long after the load the count may lag
 * @property {() => Promise<void>} stop
 */

/**
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} name
 * @param {() => string} log
 * @returns {() => Promise<void>}
 */
function stopper(child, name, log) {
  return async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited early (${String(child.exitCode)}): ${log()}`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

/** @returns {Promise<Target>} our collector, OTLP on its one port */
async function startWsgiscope() {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'collector/dist/cli.js'), '--port', String(port), '--host', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (/** @type {Buffer} */ d) => { log = (log + String(d)).slice(-4000); });
  child.stderr.on('data', (/** @type {Buffer} */ d) => { log = (log + String(d)).slice(-4000); });
  const parsed = /** @type {unknown} */ (JSON.parse(readFileSync(join(root, 'collector/package.json'), 'utf8')));
  const { version } = /** @type {{ version: string }} */ (parsed);
  const target = {
    name: 'wsgiscope', description: `wsgiscope collector ${version} (node ${process.version})`,
    pid: child.pid ?? 0, otlpPort: port, metricsPort: port,
    countFamily: /^http_server_request_duration_seconds_count$/, settleMs: 1000,
    stop: stopper(child, 'the wsgiscope collector', () => log),
  };
  await ready(target, () => log);
  return target;
}

/**
 * @param {string} binary
 * @returns {Promise<Target>} OTLP receiver -> spanmetrics connector -> Prometheus exporter
 */
async function startOtelcol(binary) {
  const otlpPort = await freePort();
  const metricsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'spanbench-otelcol-'));
  const config = join(dir, 'config.yaml');
  // The same histogram bounds as the collector's, in seconds; dimensions for method, status
  // and route (with the defaults: service.name, span.name, span.kind, status.code), so both
  // targets hold the same 120 label sets.
  writeFileSync(config, `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
connectors:
  spanmetrics:
    histogram:
      unit: s
      explicit:
        buckets: [${BOUNDS_SECONDS.map((b) => `${b}s`).join(', ')}]
    dimensions:
      - name: http.request.method
      - name: http.response.status_code
      - name: http.route
    metrics_flush_interval: 5s
exporters:
  prometheus:
    endpoint: 127.0.0.1:${metricsPort}
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [spanmetrics]
    metrics:
      receivers: [spanmetrics]
      exporters: [prometheus]
`);
  const child = spawn(binary, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (/** @type {Buffer} */ d) => { log = (log + String(d)).slice(-4000); });
  child.stderr.on('data', (/** @type {Buffer} */ d) => { log = (log + String(d)).slice(-4000); });
  const stop = stopper(child, 'the OpenTelemetry Collector', () => log);
  const target = {
    name: 'otelcol', description: `OpenTelemetry Collector 0.165 spanmetrics + prometheus exporter (${binary})`,
    pid: child.pid ?? 0, otlpPort, metricsPort,
    countFamily: /^traces_span_metrics_calls(_total)?$/, settleMs: 12_000,
    stop: async () => { try { await stop(); } finally { rmSync(dir, { recursive: true, force: true }); } },
  };
  await ready(target, () => log);
  return target;
}

/**
 * Wait until the target answers on /metrics and its OTLP path.
 * @param {Target} target
 * @param {() => string} log
 */
async function ready(target, log) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const metrics = await http(target.metricsPort, '/metrics', 'GET', undefined);
      const otlp = await http(target.otlpPort, '/v1/traces', 'POST', Buffer.alloc(0));
      if (metrics.status === 200 && otlp.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${target.name} did not come up in 30 s: ${log()}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------
// One run.

/**
 * @typedef {object} Sample
 * @property {number} t seconds since the load started
 * @property {number} cpu CPU seconds since the load started
 * @property {number} rssMiB
 * @property {number} acked spans acknowledged so far
 * @property {number} counted spans the target's /metrics shows
 */

/**
 * @param {Target} target
 */
async function run(target) {
  const load0 = loadavg();
  const u0 = usage(target.pid);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let sent = 0;
  let acked = 0;
  let inFlight = 0;
  let failed = 0;
  let retried = 0;
  /** @type {string[]} */
  const failures = [];
  let maxBehind = 0;
  /** @type {Sample[]} */
  const samples = [{ t: 0, cpu: 0, rssMiB: u0.rss / 2 ** 20, acked: 0, counted: 0 }];

  const send = () => {
    const body = BODIES[sent % BODIES.length];
    sent++;
    inFlight++;
    // A reused connection reset before the answer (the server closing it as it went idle) is
    // retried once, as an OTLP exporter would; the final count check catches double counting.
    const post = () => http(target.otlpPort, '/v1/traces', 'POST', body);
    post().catch((/** @type {unknown} */ error) => {
      if (/ECONNRESET|EPIPE/.test(String(error))) {
        retried++;
        return post();
      }
      throw error;
    }).then((res) => {
      if (res.status === 200) acked += BATCH;
      else {
        failed++;
        if (failures.length < 5) failures.push(`HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      }
    }, (/** @type {unknown} */ error) => {
      failed++;
      if (failures.length < 5) failures.push(String(error));
    }).finally(() => { inFlight--; });
  };

  let nextSample = t0 + SAMPLE_MS;
  let sampling = false;
  while (performance.now() < end) {
    const now = performance.now();
    const due = Math.floor(((now - t0) / 1000) * RATE / BATCH);
    maxBehind = Math.max(maxBehind, due - sent);
    while (sent < due && inFlight < MAX_IN_FLIGHT) send();
    if (now >= nextSample && !sampling) {
      nextSample += SAMPLE_MS;
      sampling = true;
      const u = usage(target.pid);
      const t = (now - t0) / 1000;
      const ackedNow = acked;
      http(target.metricsPort, '/metrics', 'GET', undefined).then((page) => {
        samples.push({ t, cpu: u.cpu - u0.cpu, rssMiB: u.rss / 2 ** 20, acked: ackedNow, counted: sumFamily(page.text, target.countFamily) });
      }, () => {
        samples.push({ t, cpu: u.cpu - u0.cpu, rssMiB: u.rss / 2 ** 20, acked: ackedNow, counted: Number.NaN });
      }).finally(() => { sampling = false; });
    }
    await sleep(2);
  }
  const loadEnd = performance.now();
  while (inFlight > 0) await sleep(5);
  const u1 = usage(target.pid);
  const own = process.cpuUsage(own0);
  const seconds = (loadEnd - t0) / 1000;
  // Give the target time to publish the last spans (the spanmetrics connector flushes every
  // 5 s), then check every acknowledged span is on /metrics.
  let counted = Number.NaN;
  const settle = performance.now() + target.settleMs + 5000;
  for (;;) {
    await sleep(500);
    counted = sumFamily((await http(target.metricsPort, '/metrics', 'GET', undefined)).text, target.countFamily);
    if (counted >= acked || performance.now() > settle) break;
  }
  const cpu = u1.cpu - u0.cpu;
  const rss = samples.map((s) => s.rssMiB);
  const half = samples.filter((s) => s.t >= seconds / 2);
  const slope = half.length >= 2
    ? (half[half.length - 1].rssMiB - half[0].rssMiB) / ((half[half.length - 1].t - half[0].t) / 60)
    : Number.NaN;
  return {
    target: target.name, description: target.description, seconds, rate: RATE, batch: BATCH,
    sent: sent * BATCH, acked, failed, retried, failures, counted, maxBehindBatches: maxBehind,
    cpuSeconds: cpu, cpuUsPerSpan: (cpu / acked) * 1e6, cores: cpu / seconds,
    rssStartMiB: u0.rss / 2 ** 20, rssEndMiB: u1.rss / 2 ** 20, rssMaxMiB: Math.max(...rss, u1.rss / 2 ** 20),
    rssSlopeMiBPerMinSecondHalf: slope,
    generatorCpuSeconds: (own.user + own.system) / 1e6,
    loadavgStart: load0, loadavgEnd: loadavg(), samples,
  };
}

/** @typedef {Awaited<ReturnType<typeof run>>} Result */

/** @param {Result} r */
function report(r) {
  const f1 = (/** @type {number} */ x) => x.toFixed(1);
  console.log(`\n== ${r.target}: ${r.description}`);
  console.log(`   load ${r.rate} spans/s in batches of ${r.batch} for ${f1(r.seconds)} s; load average ${r.loadavgStart.map((x) => x.toFixed(2)).join(' ')} -> ${r.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`   spans sent ${r.sent}, acknowledged ${r.acked} (${f1(r.acked / r.seconds)}/s), failed requests ${r.failed} (retried after a reset ${r.retried})${r.failures.length > 0 ? ` [${r.failures.join('; ')}]` : ''}, counted on /metrics ${r.counted}${r.counted === r.acked ? ' (all)' : ' (MISMATCH)'}`);
  console.log(`   CPU ${r.cpuSeconds.toFixed(2)} s = ${r.cpuUsPerSpan.toFixed(3)} us per span (${(r.cores * 100).toFixed(1)} % of one core); generator's own CPU ${r.generatorCpuSeconds.toFixed(1)} s; sender at most ${r.maxBehindBatches} batches behind`);
  console.log(`   RSS MiB: start ${f1(r.rssStartMiB)}, end ${f1(r.rssEndMiB)}, max ${f1(r.rssMaxMiB)}, second-half slope ${r.rssSlopeMiBPerMinSecondHalf.toFixed(2)} MiB/min`);
  console.log(`   every 10 s (t s: CPU s, RSS MiB, counted): ${r.samples.map((s) => `${Math.round(s.t)}: ${s.cpu.toFixed(1)}, ${f1(s.rssMiB)}, ${s.counted}`).join(' | ')}`);
}

function otelcolPath() {
  const given = option('otelcol');
  if (given !== undefined) return given;
  const script = readFileSync(join(root, 'scripts/build-otelcol-spanmetrics.sh'), 'utf8');
  const version = /^VERSION=(\S+)$/m.exec(script)?.[1] ?? '0.165.1';
  const cache = process.env.WSGISCOPE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'), 'wsgiscope');
  return join(cache, `otelcol-spanmetrics-${version}`, 'otelcol-spanmetrics');
}

/** @type {Result[]} */
const results = [];
console.log(`node ${process.version}; ${BODIES.length} encoded batches of ${BATCH} spans (${(BODIES.reduce((n, b) => n + b.length, 0) / BODIES.length / 1024).toFixed(1)} KiB each); ${SERVICES.length * ROUTES.length * STATUSES.length * METHODS.length} label sets; ${SECONDS} s per target at ${RATE} spans/s`);
for (const name of TARGETS) {
  if (name !== 'wsgiscope' && name !== 'otelcol') throw new Error(`unknown target ${name} (wsgiscope or otelcol)`);
  const target = name === 'wsgiscope' ? await startWsgiscope() : await startOtelcol(otelcolPath());
  try {
    await sleep(2000); // let it settle after start-up before the clock starts
    const result = await run(target);
    results.push(result);
    report(result);
  } finally {
    await target.stop();
  }
}
agent.destroy();
const ours = results.find((r) => r.target === 'wsgiscope');
const theirs = results.find((r) => r.target === 'otelcol');
if (ours !== undefined && theirs !== undefined) {
  console.log(`\nCPU-seconds per span, otelcol / wsgiscope: ${(theirs.cpuUsPerSpan / ours.cpuUsPerSpan).toFixed(2)}x (goal >= 5x)`);
  console.log(`RSS at the end, otelcol / wsgiscope: ${(theirs.rssEndMiB / ours.rssEndMiB).toFixed(2)}x`);
}
if (JSON_FILE !== undefined) writeFileSync(JSON_FILE, `${JSON.stringify(results, null, 2)}\n`);
const bad = results.filter((r) => r.counted !== r.acked || r.failed > 0);
if (bad.length > 0) {
  console.log(`\nNOT ALL SPANS COUNTED / ACCEPTED: ${bad.map((r) => r.target).join(', ')}`);
  process.exitCode = 1;
}
