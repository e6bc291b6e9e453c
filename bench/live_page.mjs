// The live page's cost, in two parts.
//
//     npm run build && node bench/live_page.mjs [--seconds 2] [--repeats 5]
//
// 1. ingest: decode + aggregate serialized batches in process (as bench/collector_ingest.mjs),
//    once with the worker registry feeding the Aggregator alone and once feeding the live
//    page's state too, as the collector runs. Records are stamped "now", so the live state
//    does its full per-record work (records older than its history would be skipped cheaply).
//    Runs alternate between the two so a busy shared machine hurts both alike.
// 2. snapshot: 200 workers x 10,000 records/s in all (50 per worker per second, 1 % of them
//    long) for 30 simulated seconds on a fake clock, then the size and build time of one
//    snapshot (what the SSE stream sends each second) and one SSE frame.
import { arg, asDecoded, built, median, seeded } from './_common.mjs';

const { decodeBatch } = /** @type {typeof import('@wsgiscope/protocol')} */ (built('packages/protocol/dist/index.js'));
const { Aggregator } = /** @type {typeof import('../collector/src/aggregate/aggregator.js')} */ (built('collector/dist/aggregate/aggregator.js'));
const { LiveState } = /** @type {typeof import('../collector/src/live/state.js')} */ (built('collector/dist/live/state.js'));
const { WorkerRegistry } = /** @type {typeof import('../collector/src/workers/registry.js')} */ (built('collector/dist/workers/registry.js'));
const { sseFrame } = /** @type {typeof import('../collector/src/live/sse.js')} */ (built('collector/dist/live/sse.js'));
const SECONDS = arg('seconds', 2);
const REPEATS = arg('repeats', 5);

const rand = seeded(7);

/**
 * One batch of `records` requests from `worker`, ending at `endUs`.
 * @param {number} worker
 * @param {number} seq
 * @param {number} records
 * @param {number} endUs
 * @param {number} threads
 * @returns {import('./_common.mjs').BatchV1Wire}
 */
function batchObject(worker, seq, records, endUs, threads) {
  /** @type {import('@wsgiscope/protocol').RequestColumns} */
  const cols = {
    start_unix_us: [], method: [], status: [], duration_us: [], queue_us: [], read_us: [], app_us: [],
    first_byte_us: [], write_us: [], cpu_us: [], bytes_in: [], bytes_out: [], error: [], thread: [],
  };
  for (let i = 0; i < records; i++) {
    const long = rand() < 0.01;
    const duration = long ? 500_000 + Math.floor(rand() * 1_500_000) : Math.floor(rand() * rand() * 50_000) + 200;
    const end = endUs - Math.floor(((records - i) / records) * 1e6);
    cols.start_unix_us.push(end - duration);
    cols.method.push('GET');
    cols.status.push(i % 50 === 0 ? 500 : 200);
    cols.duration_us.push(duration);
    cols.queue_us.push(i % 3 === 0 ? null : Math.floor(rand() * 5000));
    cols.read_us.push(Math.floor(rand() * 100));
    cols.app_us.push(Math.floor(duration * 0.8));
    cols.first_byte_us.push(Math.floor(duration * 0.85));
    cols.write_us.push(Math.floor(duration * 0.1));
    cols.cpu_us.push(Math.floor(duration * rand()));
    cols.bytes_in.push(0);
    cols.bytes_out.push(1000);
    cols.error.push(null);
    cols.thread.push(i % threads);
  }
  return {
    protocol_version: 1,
    resource: {
      service_name: 'bench', server: 'gunicorn', server_version: '23.0.0', worker_class: 'gthread',
      python_version: '3.11.7', shim_version: '0.1.0', host: 'bench', pid: 1000 + worker,
      worker: `bench:${1000 + worker}`, started_unix_us: endUs - 3600e6, capacity_threads: threads,
      capacity_processes: null, capacity_source: 'detected', cpu_attributable: true,
    },
    seq,
    requests: cols,
    samples: [{
      time_unix_us: endUs, active_requests: 2, busy_threads: 2, busy_thread_us: seq * 2e6,
      oldest_request_age_us: 1000, cpu_user_us: seq * 3e5, cpu_system_us: seq * 1e4,
      rss_bytes: 50_000_000, os_threads: 6, gc_collections: seq, sampler_lag_us: [100],
      dropped_records: 0,
    }],
  };
}

/** @param {number} n */
const fmt = (n) => `${(n / 1e6).toFixed(2)} M`;

/**
 * A registry with the Aggregator subscribed, and the live state too when `withLive`.
 * @param {boolean} withLive
 * @param {() => number} nowMs
 */
function collectorState(withLive, nowMs = Date.now) {
  const registry = new WorkerRegistry({ workerExpiryMs: 3_600_000, nowMs });
  new Aggregator(registry);
  const live = withLive ? new LiveState(registry) : undefined;
  return { registry, live };
}

/** @param {boolean} withLive */
function ingestRate(withLive) {
  const WORKERS = 8;
  const { registry } = collectorState(withLive);
  const seqs = new Array(WORKERS).fill(0);
  const texts = Array.from({ length: WORKERS }, (_, w) => JSON.stringify(batchObject(w, 0, 2000, Date.now() * 1000, 4)));
  let records = 0;
  let ns = 0n;
  const end = process.hrtime.bigint() + BigInt(SECONDS * 1e9);
  while (process.hrtime.bigint() < end) {
    for (let w = 0; w < WORKERS; w++) {
      const text = texts[w].replace(/"seq":\d+/, `"seq":${++seqs[w]}`);
      const t = process.hrtime.bigint();
      const result = decodeBatch(text);
      if (!result.ok) throw new Error(JSON.stringify(result.error));
      const { verdict } = registry.admit(result.batch);
      ns += process.hrtime.bigint() - t;
      if (verdict === 'duplicate') throw new Error('unexpected duplicate');
      records += result.batch.requests.status.length;
    }
  }
  return records / (Number(ns) / 1e9);
}

const plain = [];
const withLive = [];
for (let r = 0; r < REPEATS; r++) {
  plain.push(ingestRate(false));
  withLive.push(ingestRate(true));
}
console.log(`node ${process.version}, ${REPEATS} alternating repeats of ${SECONDS} s`);
console.log(`decode + aggregate            : median ${fmt(median(plain))} records/s  [${plain.map(fmt).join(', ')}]`);
console.log(`decode + aggregate + live page: median ${fmt(median(withLive))} records/s  [${withLive.map(fmt).join(', ')}]`);
console.log(`live page share of ingest cost: ${((1 - median(withLive) / median(plain)) * 100).toFixed(1)} %`);

// Part 2: a big fleet on a fake clock.
const WORKERS = 200;
const PER_WORKER_PER_S = 50;
let nowMs = Math.floor(Date.now() / 1000) * 1000;
const { registry, live } = collectorState(true, () => nowMs);
if (live === undefined) throw new Error('collectorState(true) made no live state');
const batches = [];
for (let s = 0; s < 30; s++) {
  nowMs += 1000;
  for (let w = 0; w < WORKERS; w++) batches.push(asDecoded(batchObject(w, s, PER_WORKER_PER_S, nowMs * 1000, 4)));
}
nowMs -= 30_000;
let fed = 0;
const feedStart = process.hrtime.bigint();
for (let s = 0; s < 30; s++) {
  nowMs += 1000;
  for (let w = 0; w < WORKERS; w++) {
    const b = batches[s * WORKERS + w];
    if (registry.admit(b).verdict !== 'duplicate') fed += b.requests.status.length;
  }
}
const feedMs = Number(process.hrtime.bigint() - feedStart) / 1e6;
const times = [];
let json = '';
for (let i = 0; i < 20; i++) {
  const t = process.hrtime.bigint();
  json = JSON.stringify(live.snapshot());
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
}
/** @type {unknown} */
const parsed = JSON.parse(json);
const snap = /** @type {import('../collector/src/live/state.js').LiveSnapshot} */ (parsed);
console.log(`\n${WORKERS} workers x ${PER_WORKER_PER_S} records/s = ${WORKERS * PER_WORKER_PER_S} records/s for 30 s: ${fed} records aggregated + fed in ${feedMs.toFixed(0)} ms`);
console.log(`snapshot (JSON.stringify included): median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
console.log(`snapshot size: ${(json.length / 1024).toFixed(0)} KiB; SSE frame ${(sseFrame('snapshot', json, 1).length / 1024).toFixed(0)} KiB`);
console.log(`  timeline: ${snap.timeline.workers.length} of ${snap.timeline.workers_total} workers, ${snap.timeline.rows_shown} rows shown of ${snap.timeline.rows_overlapping} kept, sampled=${snap.timeline.sampled}`);
console.log(`  workers table: ${snap.workers.length} rows; series: ${snap.series.time.length} seconds; last settled rate ${snap.series.rate.at(-1)}/s`);
