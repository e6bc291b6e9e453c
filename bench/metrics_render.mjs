// Time to render /metrics with many workers' series, both exposition formats, on the final
// metric catalogue (protocol v2).
//
//     npm run build && node bench/metrics_render.mjs [--workers 200] [--services 4] [--renders 30]
//
// Builds what a running collector builds (collector.ts): the worker registry, the Aggregator with
// routes on (http_route labels), the trace store (exemplars on the OpenMetrics duration buckets)
// and the self metrics. Each worker sends two protocol version 2 batches (decoded by the real
// decoder, so they are valid v2): 400 records over exactly 40 request label sets per service
// (5 route templates x 8 method/status pairs, every record with gen_us), samples with scheduler
// time, two listening sockets and sampler lag, and a few slow-request traces. Then, per format:
// 1. render: Exposition.render() and the UTF-8 encoding of its text (what the response sends),
//    the median of --renders runs;
// 2. scrape: GET /metrics over loopback from a real collector (startCollector, fed the same
//    batches), until the last byte has arrived; the client here does no more than drain it;
// and prints the payload size of one scrape.
import { request } from 'node:http';
import { arg, built, median } from './_common.mjs';

const { decodeBatch } = /** @type {typeof import('@wsgiscope/protocol')} */ (built('packages/protocol/dist/index.js'));
const { Aggregator } = /** @type {typeof import('../collector/src/aggregate/aggregator.js')} */ (built('collector/dist/aggregate/aggregator.js'));
const { Exposition } = /** @type {typeof import('../collector/src/export/exposition.js')} */ (built('collector/dist/export/exposition.js'));
const { WorkerRegistry } = /** @type {typeof import('../collector/src/workers/registry.js')} */ (built('collector/dist/workers/registry.js'));
const { TraceStore } = /** @type {typeof import('../collector/src/traces/store.js')} */ (built('collector/dist/traces/store.js'));
const { SelfMetrics } = /** @type {typeof import('../collector/src/self/selfMetrics.js')} */ (built('collector/dist/self/selfMetrics.js'));
const { SelfMetricsBridge } = /** @type {typeof import('../collector/src/self/bridge.js')} */ (built('collector/dist/self/bridge.js'));
const { startCollector } = /** @type {typeof import('../collector/src/collector.js')} */ (built('collector/dist/collector.js'));
const { defaults } = /** @type {typeof import('../collector/src/config.js')} */ (built('collector/dist/config.js'));

const WORKERS = arg('workers', 200);
const RENDERS = arg('renders', 30);
const SERVICES = arg('services', 4);
const RECORDS = 400;
const ROUTES = ['/', '/api/items', '/api/items/{item_id}', '/api/users/{user_id}/orders', '/static/{path}'];
/** @type {readonly (readonly [string, number])[]} */
const PAIRS = [['GET', 200], ['GET', 304], ['GET', 404], ['GET', 500], ['POST', 201], ['POST', 400], ['PUT', 200], ['DELETE', 204]];
const LABEL_SETS = ROUTES.length * PAIRS.length; // 40 per service
const T0 = 1767225600000000;

/**
 * Batch `seq` (0 or 1) of worker `w`: RECORDS requests, record i in label set i % 40.
 * @param {number} w
 * @param {number} seq
 * @returns {string}
 */
function batch(w, seq) {
  /**
   * @template T
   * @param {(i: number) => T} f
   * @returns {T[]}
   */
  const col = (f) => Array.from({ length: RECORDS }, (_, i) => f(i));
  const set = (/** @type {number} */ i) => i % LABEL_SETS;
  const pair = (/** @type {number} */ i) => PAIRS[set(i) % PAIRS.length];
  const duration = (/** @type {number} */ i) => 1000 + (i * 997 + w * 131) % 2_000_000;
  const tUs = T0 + seq * 1_000_000;
  return JSON.stringify({
    protocol_version: 2,
    resource: {
      service_name: `svc-${w % SERVICES}`, server: 'gunicorn', server_version: '23.0.0', worker_class: 'gthread',
      python_version: '3.11.7', shim_version: '0.2.0', host: `host-${w % 20}`, pid: 1000 + w,
      worker: `host-${w % 20}:${1000 + w}`, started_unix_us: T0, capacity_threads: 4,
      capacity_processes: 10, capacity_source: 'detected', detected_capacity_threads: null, cpu_attributable: true,
    },
    seq,
    requests: {
      start_unix_us: col((i) => tUs + i), method: col((i) => pair(i)[0]),
      route: col((i) => ROUTES[Math.floor(set(i) / PAIRS.length)]),
      status: col((i) => pair(i)[1]), duration_us: col(duration),
      queue_us: col((i) => (i % 3 === 0 ? null : i * 31 % 5000)), read_us: col(() => 10),
      app_us: col((i) => Math.floor(duration(i) * 0.7)), gen_us: col((i) => Math.floor(duration(i) * 0.2)),
      first_byte_us: col((i) => (i % 9 === 0 ? null : Math.floor(duration(i) * 0.75))),
      write_us: col((i) => Math.floor(duration(i) * 0.05)), cpu_us: col((i) => i * 7 % 900),
      bytes_in: col((i) => (i % 5 === 1 ? 4096 : 0)), bytes_out: col((i) => i * 101),
      error: col((i) => (pair(i)[1] === 500 ? 'RuntimeError' : null)), thread: col((i) => i % 4),
    },
    samples: [{
      time_unix_us: tUs + 999_000, active_requests: 1, busy_threads: 1, busy_thread_us: (seq + 1) * 500000,
      oldest_request_age_us: 1200, cpu_user_us: (seq + 1) * 100000, cpu_system_us: (seq + 1) * 20000, rss_bytes: 60000000,
      os_threads: 7, gc_collections: 3, sampler_lag_us: [100, 250, 4000, 900], dropped_records: 0,
      sched_run_us: (seq + 1) * 110000, sched_wait_us: (seq + 1) * 3000, dropped_traces: seq,
      listen: [{ address: '0.0.0.0:8000', queued: w % 3, limit: 2048 }, { address: '[::]:8000', queued: 0, limit: null }],
    }],
    // Five slow requests per batch, in different label sets and duration buckets: exemplars.
    traces: Array.from({ length: 5 }, (_, k) => {
      const i = (w * 7 + seq * 11 + k * 13) % RECORDS;
      const d = 100_000 * (k + 1) * (1 + (w % 4));
      return {
        start_unix_us: tUs + i, duration_us: d, method: pair(i)[0], route: ROUTES[Math.floor(set(i) / PAIRS.length)],
        status: pair(i)[1], thread: i % 4, reason: 'slow',
        traceparent: k % 2 === 0 ? `00-${(w * 10 + k).toString(16).padStart(32, '0')}-00f067aa0ba902b7-01` : null, error: null,
        phases: { queue: null, read_body: null, app: [0, d - 2000, d - 2000], generate: [d - 2000, d - 1000, 1000], write: [d - 1000, d, 1000] },
      };
    }),
  });
}

const registry = new WorkerRegistry({ workerExpiryMs: 3_600_000 });
const aggregator = new Aggregator(registry, { routes: true });
const traces = new TraceStore(registry, { routes: true });
const self = new SelfMetrics({ registry, aggregator, traces });
const running = await startCollector({ ...defaults(), port: 0, host: '127.0.0.1', workerExpirySeconds: 3600 });
for (let seq = 0; seq < 2; seq++) {
  for (let w = 0; w < WORKERS; w++) {
    const decoded = decodeBatch(batch(w, seq));
    if (!decoded.ok) throw new Error(`bench batch is not valid v2: ${JSON.stringify(decoded.error)}`);
    registry.admit(decoded.batch);
    self.batchAccepted(decoded.batch.requests.status.length);
    running.registry.admit(decoded.batch);
  }
}
const series = aggregator.requestSeries().length;
if (series !== SERVICES * LABEL_SETS || running.aggregator.requestSeries().length !== series) {
  throw new Error(`expected ${SERVICES * LABEL_SETS} request label sets, found ${series}`);
}
const exposition = new Exposition(aggregator, [new SelfMetricsBridge(self)], { exemplars: traces });

/**
 * One GET /metrics; resolves with the body's size once its last byte arrived.
 * @param {string} accept
 * @returns {Promise<number>}
 */
function scrape(accept) {
  return new Promise((resolve, reject) => {
    const url = new URL('/metrics', running.url);
    request(url, { headers: { accept } }, (res) => {
      let bytes = 0;
      res.on('data', (/** @type {Buffer} */ chunk) => { bytes += chunk.length; });
      res.on('end', () => { resolve(bytes); });
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

console.log(`node ${process.version}, ${WORKERS} workers, ${SERVICES} service(s) x ${series / SERVICES} request label sets (protocol v2, routes, exemplars)`);
/** @type {[import('../collector/src/export/negotiate.js').ExpositionFormat, string][]} */
const FORMATS = [['prometheus', 'text/plain'], ['openmetrics', 'application/openmetrics-text; version=1.0.0']];
/** @param {number[]} times */
const stats = (times) => `median ${median(times).toFixed(1)} ms [${Math.min(...times).toFixed(1)}-${Math.max(...times).toFixed(1)}]`;
for (const [format, accept] of FORMATS) {
  Buffer.from((await exposition.render(format)).body); // warm-up
  const renders = [];
  for (let i = 0; i < RENDERS; i++) {
    const t = process.hrtime.bigint();
    Buffer.from((await exposition.render(format)).body);
    renders.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await scrape(accept);
  const scrapes = [];
  let received = 0;
  for (let i = 0; i < RENDERS; i++) {
    const t = process.hrtime.bigint();
    received = await scrape(accept);
    scrapes.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const { body } = await exposition.render(format);
  const lines = body.split('\n');
  const samples = lines.filter((l) => l && !l.startsWith('#')).length;
  const exemplars = lines.filter((l) => l.includes(' # {')).length;
  const bytes = Buffer.byteLength(body);
  console.log(`${format.padEnd(12)} render ${stats(renders)}  scrape ${stats(scrapes)}  target < 50 ms`);
  console.log(`${''.padEnd(12)} ${samples} samples, ${exemplars} exemplars, ${bytes} bytes (${(bytes / 1024).toFixed(0)} KiB) per scrape (over HTTP: ${received} bytes)`);
}
await self.shutdown();
await running.close();
