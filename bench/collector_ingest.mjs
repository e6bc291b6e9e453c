// Collector ingest throughput, in request records per second on one core.
//
//     npm run build && node bench/collector_ingest.mjs [--batch 2000] [--seconds 3] [--repeats 5] [--warmup 1000]
//
// 1. in-process: decode (JSON.parse + schema validation + cross-field rules) and aggregate
//    serialized batches, as the ingest route does, minus HTTP. Node runs this on one thread.
// 2. over HTTP: a real collector process receives the same batches over loopback from this
//    process (4 requests in flight, 400,000 x --seconds records per repeat after --warmup batches);
//    records / the collector process's CPU seconds (read from /proc) is its single-core
//    ingest rate including express, gunzip-less JSON bodies and the response.
// Batches are protocol version 2 (the final protocol: gen_us, a route column, scheduler time and
// listening sockets in the sample, two slow-request traces per batch) and rotate over 8 workers
// x 40 label sets (5 route templates x 8 method/status pairs), mimicking a busy server; values
// are random so histogram bucket lookups are not all the same branch.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { arg, built, median, root, seeded } from './_common.mjs';

const { decodeBatch } = /** @type {typeof import('@wsgiscope/protocol')} */ (built('packages/protocol/dist/index.js'));
const { Aggregator } = /** @type {typeof import('../collector/src/aggregate/aggregator.js')} */ (built('collector/dist/aggregate/aggregator.js'));
const { WorkerRegistry } = /** @type {typeof import('../collector/src/workers/registry.js')} */ (built('collector/dist/workers/registry.js'));
const { TraceStore } = /** @type {typeof import('../collector/src/traces/store.js')} */ (built('collector/dist/traces/store.js'));
const BATCH = arg('batch', 2000);
const SECONDS = arg('seconds', 3);
const REPEATS = arg('repeats', 5);
const WARMUP = arg('warmup', 1000);
const WORKERS = 8;

const ROUTES = ['/', '/api/items', '/api/items/{item_id}', '/api/users/{user_id}/orders', '/static/{path}'];
/** @type {readonly (readonly [string, number])[]} */
const PAIRS = [['GET', 200], ['GET', 304], ['GET', 404], ['GET', 500], ['POST', 201], ['POST', 400], ['PUT', 200], ['DELETE', 204]];
const rand = seeded(42);

/**
 * One serialized batch of BATCH records from `worker`.
 * @param {number} worker
 * @param {number} seq
 * @returns {string}
 */
function makeBatch(worker, seq) {
  /** @type {Required<import('@wsgiscope/protocol').RequestColumns>} */
  const cols = {
    start_unix_us: [], method: [], route: [], status: [], duration_us: [], queue_us: [], read_us: [],
    app_us: [], gen_us: [], first_byte_us: [], write_us: [], cpu_us: [], bytes_in: [], bytes_out: [],
    error: [], thread: [],
  };
  const t0 = 1767225600000000 + seq * 1000000;
  for (let i = 0; i < BATCH; i++) {
    const duration = Math.floor(rand() * rand() * 2_000_000) + 50;
    cols.start_unix_us.push(t0 + i * 100);
    const set = (i >> 2) % 40; // runs of 4 records with the same labels
    cols.method.push(PAIRS[set % 8][0]);
    cols.route.push(ROUTES[set >> 3]);
    cols.status.push(PAIRS[set % 8][1]);
    cols.duration_us.push(duration);
    cols.queue_us.push(i % 3 === 0 ? null : Math.floor(rand() * 5000));
    cols.read_us.push(Math.floor(rand() * 100));
    cols.app_us.push(Math.floor(duration * 0.6));
    cols.gen_us.push(Math.floor(duration * 0.2));
    cols.first_byte_us.push(Math.floor(duration * 0.85));
    cols.write_us.push(Math.floor(duration * 0.1));
    cols.cpu_us.push(Math.floor(duration * rand()));
    cols.bytes_in.push(i % 5 === 1 ? 4096 : 0);
    cols.bytes_out.push(Math.floor(rand() * 100000));
    cols.error.push(cols.status[i] === 500 ? 'RuntimeError' : null);
    cols.thread.push(i % 4);
  }
  return JSON.stringify({
    protocol_version: 2,
    resource: {
      service_name: 'bench', server: 'gunicorn', server_version: '23.0.0', worker_class: 'gthread',
      python_version: '3.11.7', shim_version: '0.2.0', host: 'bench', pid: 1000 + worker,
      worker: `bench:${1000 + worker}`, started_unix_us: 1767225600000000, capacity_threads: 4,
      capacity_processes: WORKERS, capacity_source: 'detected', cpu_attributable: true,
      detected_capacity_threads: null,
    },
    seq,
    requests: cols,
    samples: [{
      time_unix_us: t0, active_requests: 2, busy_threads: 2, busy_thread_us: seq * 1000000,
      oldest_request_age_us: 1000, cpu_user_us: seq * 1000, cpu_system_us: seq * 100,
      rss_bytes: 50_000_000, os_threads: 6, gc_collections: seq, sampler_lag_us: [100, 200],
      dropped_records: 0, sched_run_us: seq * 900, sched_wait_us: seq * 50, dropped_traces: 0,
      listen: [{ address: '0.0.0.0:8000', queued: 1, limit: 2048 }],
    }],
    traces: [0, BATCH >> 1].map((i) => {
      const d = cols.duration_us[i];
      return {
        start_unix_us: cols.start_unix_us[i], duration_us: d, method: cols.method[i], route: cols.route[i],
        status: cols.status[i], thread: cols.thread[i], reason: 'slow', error: cols.error[i],
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        phases: { queue: null, read_body: null, app: [0, d - 2, d - 2], generate: [d - 2, d - 1, 1], write: [d - 1, d, 1] },
      };
    }),
  });
}


function inProcess() {
  const registry = new WorkerRegistry({ workerExpiryMs: 3_600_000 });
  new Aggregator(registry, { routes: true });
  new TraceStore(registry, { routes: true });
  const seqs = new Array(WORKERS).fill(0);
  const bodies = Array.from({ length: WORKERS }, (_, w) => Buffer.from(makeBatch(w, 0)));
  // Bodies are reused with seq 0 except the first of each worker: duplicates would skip
  // aggregation, so we build a fresh seq per round cheaply by patching the number in place.
  const rates = [];
  for (let r = 0; r < REPEATS; r++) {
    let records = 0;
    const end = process.hrtime.bigint() + BigInt(SECONDS * 1e9);
    let ns = 0n;
    while (process.hrtime.bigint() < end) {
      for (let w = 0; w < WORKERS; w++) {
        const text = bodies[w].toString('utf8').replace(/"seq":\d+/, `"seq":${++seqs[w]}`);
        const t = process.hrtime.bigint();
        const result = decodeBatch(text);
        if (!result.ok) throw new Error(JSON.stringify(result.error));
        const { verdict } = registry.admit(result.batch);
        ns += process.hrtime.bigint() - t;
        if (verdict === 'duplicate') throw new Error('unexpected duplicate');
        records += result.batch.requests.status.length;
      }
    }
    rates.push(records / (Number(ns) / 1e9));
  }
  return rates;
}

/**
 * User + system CPU seconds of a process, from /proc.
 * @param {number} pid
 * @returns {number}
 */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

/**
 * POST one batch body; resolves on 202.
 * @param {number} port
 * @param {Buffer} body
 * @returns {Promise<void>}
 */
function post(port, body) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: '/v1/batches', method: 'POST', agent: keepAlive,
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 202) resolve(); else reject(new Error(`HTTP ${String(res.statusCode)}`));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
/** @type {import('node:http').Agent} */
let keepAlive;

async function overHttp() {
  const { Agent } = await import('node:http');
  keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });
  const child = spawn('node', [join(root, 'collector/dist/cli.js'), '--port', '0',
    '--rate-limit-batches-per-second', '1000000', '--max-body-bytes', '67108864'],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  /** @type {number} */
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => {
      const m = /:(\d+)\s*$/m.exec(String(d));
      if (m) resolve(Number(m[1])); else reject(new Error(`no listening line: ${d}`));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the collector process did not start');
  const seqs = new Array(WORKERS).fill(0);
  const template = Array.from({ length: WORKERS }, (_, w) => makeBatch(w, 0));
  let posted = 0;
  /**
   * POST `count` batches, 4 in flight; returns the collector's CPU seconds meanwhile. Bodies are
   * made here (a new seq each), on this process's CPU, which is not the one measured.
   * @param {number} count
   */
  const round = async (count) => {
    const cpu0 = cpuSeconds(pid);
    let left = count;
    const lane = async () => {
      while (left-- > 0) {
        const w = posted++ % WORKERS;
        await post(port, Buffer.from(template[w].replace(/"seq":\d+/, `"seq":${++seqs[w]}`)));
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    return cpuSeconds(pid) - cpu0;
  };
  const rates = [];
  try {
    await round(WARMUP); // warm-up, not counted: V8 tiers up per-request code (http, express) only after thousands of requests
    // 400,000 records per --seconds: about a collector CPU-second per repeat at 1 M/s and 3 s,
    // so the clock ticks of /proc (10 ms) stay a 1 % error, whatever the batch size.
    const count = Math.max(50, Math.round(SECONDS * 400_000 / BATCH));
    for (let r = 0; r < REPEATS; r++) rates.push((count * BATCH) / await round(count));
  } finally {
    child.kill('SIGTERM');
    keepAlive.destroy();
  }
  return rates;
}

const local = inProcess();
const http = await overHttp();
/** @param {number} x */
const fmt = (x) => `${(x / 1e6).toFixed(2)} M`;
console.log(`node ${process.version}, batches of ${BATCH} records, ${WORKERS} workers, ${REPEATS} repeats`);
console.log(`decode + aggregate, in process : median ${fmt(median(local))} records/s  [${local.map(fmt).join(', ')}]`);
console.log(`HTTP ingest, per collector CPU-s: median ${fmt(median(http))} records/s  [${http.map(fmt).join(', ')}]`);
console.log('target: >= 1.00 M records/s on one core');
