// Time to render /metrics with many workers' series, both exposition formats.
//
//     npm run build && node bench/metrics_render.mjs [--workers 200] [--services 1] [--renders 30]
//
// Feeds the real worker registry and Aggregator one batch per worker (40 request label sets — method x status —
// per service, --services services, samples with lag observations), then times Exposition.render() — the work a
// scrape does, minus the socket — as the median of --renders runs per format.
import { arg, built, median } from './_common.mjs';

const { Aggregator } = /** @type {typeof import('../collector/src/aggregate/aggregator.js')} */ (built('collector/dist/aggregate/aggregator.js'));
const { Exposition } = /** @type {typeof import('../collector/src/export/exposition.js')} */ (built('collector/dist/export/exposition.js'));
const { WorkerRegistry } = /** @type {typeof import('../collector/src/workers/registry.js')} */ (built('collector/dist/workers/registry.js'));

const WORKERS = arg('workers', 200);
const RENDERS = arg('renders', 30);
const SERVICES = arg('services', 1);
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD'];
const STATUSES = [200, 201, 204, 301, 304, 400, 404, 500];

/**
 * One batch of 400 requests from worker `w`.
 * @param {number} w
 * @returns {import('./_common.mjs').Batch}
 */
function batch(w) {
  const n = 400;
  /**
   * @template T
   * @param {(i: number) => T} f
   * @returns {T[]}
   */
  const col = (f) => Array.from({ length: n }, (_, i) => f(i));
  return {
    protocol_version: 1,
    resource: {
      service_name: `svc-${w % SERVICES}`, server: 'gunicorn', server_version: '23.0.0', worker_class: 'gthread',
      python_version: '3.11.7', shim_version: '0.1.0', host: `host-${w % 20}`, pid: 1000 + w,
      worker: `host-${w % 20}:${1000 + w}`, started_unix_us: 1767225600000000, capacity_threads: 4,
      capacity_processes: 10, capacity_source: 'detected', detected_capacity_threads: null, cpu_attributable: true,
    },
    seq: 0,
    requests: {
      start_unix_us: col((i) => 1767225600000000 + i), method: col((i) => METHODS[i % 5]),
      status: col((i) => STATUSES[(i >> 3) % 8]), duration_us: col((i) => 1000 + i * 997 % 2000000),
      queue_us: col((i) => i * 31 % 5000), read_us: col(() => 10), app_us: col((i) => 900 + i * 13 % 1000),
      first_byte_us: col(() => 950), write_us: col(() => 40), cpu_us: col((i) => i * 7 % 900),
      bytes_in: col(() => 0), bytes_out: col((i) => i * 101), error: col(() => null), thread: col((i) => i % 4),
    },
    samples: [{
      time_unix_us: 1767225601000000, active_requests: 1, busy_threads: 1, busy_thread_us: 500000,
      oldest_request_age_us: 1200, cpu_user_us: 100000, cpu_system_us: 20000, rss_bytes: 60000000,
      os_threads: 7, gc_collections: 3, sampler_lag_us: [100, 250, 4000, 900], dropped_records: 0,
    }],
  };
}

const registry = new WorkerRegistry({ workerExpiryMs: 3_600_000 });
const aggregator = new Aggregator(registry);
for (let w = 0; w < WORKERS; w++) registry.admit(batch(w));
const exposition = new Exposition(aggregator);

console.log(`node ${process.version}, ${WORKERS} workers, ${SERVICES} service(s) x 40 request label sets`);
/** @type {import('../collector/src/export/negotiate.js').ExpositionFormat[]} */
const FORMATS = ['prometheus', 'openmetrics'];
for (const format of FORMATS) {
  await exposition.render(format); // warm-up
  const times = [];
  let bytes = 0;
  for (let i = 0; i < RENDERS; i++) {
    const t = process.hrtime.bigint();
    const { body } = await exposition.render(format);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    bytes = body.length;
  }
  const lines = (await exposition.render(format)).body.split('\n').filter((l) => l && !l.startsWith('#')).length;
  console.log(`${format.padEnd(12)} median ${median(times).toFixed(1)} ms  (${lines} samples, ${(bytes / 1024).toFixed(0)} KiB)  target < 50 ms`);
}
