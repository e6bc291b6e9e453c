// Does the live page stay smooth in a real browser with 200 workers and 10,000 requests/s?
//
//     npm run build && node bench/live_page_browser.mjs [--workers 200] [--rate 10000] [--seconds 20]
//
// Starts a real collector, feeds it over HTTP with one batch per worker per second (rate /
// workers records each, stamped "now", 1 % of them long, with samples), opens the live page in
// headless Chromium (/usr/bin/chromium via playwright-core) and records, in the page: the
// interval between animation frames, long tasks (PerformanceObserver 'longtask', > 50 ms main
// thread blocks) and how many SSE updates were applied. Loopback only; everything is stopped.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { arg, root } from './_common.mjs';

const WORKERS = arg('workers', 200);
const RATE = arg('rate', 10000);
const SECONDS = arg('seconds', 20);
const PER_WORKER = Math.max(1, Math.round(RATE / WORKERS));

/**
 * One serialized batch of PER_WORKER requests from worker `w`, ending at `nowUs`.
 * @param {number} w
 * @param {number} seq
 * @param {number} nowUs
 * @returns {string}
 */
function batch(w, seq, nowUs) {
  const n = PER_WORKER;
  /**
   * @template T
   * @param {(i: number) => T} f
   * @returns {T[]}
   */
  const col = (f) => Array.from({ length: n }, (_, i) => f(i));
  const dur = col((i) => (i % 100 === 0 ? 1_500_000 : 2_000 + ((i * 7919) % 30_000)));
  return JSON.stringify({
    protocol_version: 1,
    resource: {
      service_name: 'bench', server: 'gunicorn', server_version: '27.0.1', worker_class: 'gthread',
      python_version: '3.11.7', shim_version: '0.1.0', host: `host-${w % 20}`, pid: 1000 + w,
      worker: `host-${w % 20}:${1000 + w}`, started_unix_us: 1767225600000000, capacity_threads: 4,
      capacity_processes: WORKERS, capacity_source: 'detected', cpu_attributable: true,
    },
    seq,
    requests: {
      start_unix_us: col((i) => nowUs - 1_000_000 + Math.floor((i * 1_000_000) / n) - dur[i]),
      method: col(() => 'GET'), status: col((i) => (i % 50 === 0 ? 500 : 200)), duration_us: dur,
      queue_us: col((i) => (i * 31) % 5000), read_us: col(() => 20),
      app_us: col((i) => Math.floor(dur[i] * 0.8)), first_byte_us: col((i) => Math.floor(dur[i] * 0.85)),
      write_us: col((i) => Math.floor(dur[i] * 0.1)), cpu_us: col((i) => Math.floor(dur[i] * 0.3)),
      bytes_in: col(() => 0), bytes_out: col(() => 1200), error: col(() => null), thread: col((i) => i % 4),
    },
    samples: [{
      time_unix_us: nowUs, active_requests: 2, busy_threads: 2, busy_thread_us: seq * 2_000_000,
      oldest_request_age_us: 3000, cpu_user_us: seq * 300_000, cpu_system_us: seq * 50_000,
      rss_bytes: 60_000_000, os_threads: 7, gc_collections: seq, sampler_lag_us: [100, 300, 900, 150],
      dropped_records: 0,
    }],
  });
}

/** @typedef {{ frames: number[], longTasks: number[], updates: number }} BenchRecord what the page records */
/** @typedef {Window & typeof globalThis & { __bench: BenchRecord }} BenchWindow */

const agent = new Agent({ keepAlive: true, maxSockets: 8 });
/**
 * POST one batch body; resolves on 202.
 * @param {number} port
 * @param {string} body
 * @returns {Promise<void>}
 */
function post(port, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/batches', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
    (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 202) resolve(); else reject(new Error(`HTTP ${String(res.statusCode)}`));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const collector = spawn('node', [join(root, 'collector/dist/cli.js'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
/** @type {number} */
const port = await new Promise((resolve, reject) => {
  collector.stdout.once('data', (d) => {
    const m = /:(\d+)\s*$/m.exec(String(d));
    if (m) resolve(Number(m[1])); else reject(new Error(`no listening line: ${d}`));
  });
});
let browser;
let feeding = true;
try {
  const seqs = Array.from({ length: WORKERS }, () => 0);
  const feedLoop = async () => {
    while (feeding) {
      const t = Date.now();
      const nowUs = t * 1000;
      await Promise.all(Array.from({ length: WORKERS }, (_, w) => post(port, batch(w, seqs[w]++, nowUs))));
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t))));
    }
  };
  const feed = feedLoop();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']  // playwright gives each launch a fresh profile,
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  await page.addInitScript(() => {
    const w = /** @type {BenchWindow} */ (window);
    w.__bench = { frames: [], longTasks: [], updates: 0 };
    let last = performance.now();
    /** @param {number} now */
    const tick = (now) => { w.__bench.frames.push(now - last); last = now; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__bench.longTasks.push(e.duration); })
      .observe({ type: 'longtask', buffered: true });
    const Original = w.EventSource;
    w.EventSource = class extends Original {
      /** @param {ConstructorParameters<typeof EventSource>} args */
      constructor(...args) { super(...args); this.addEventListener('snapshot', () => { w.__bench.updates++; }); }
    };
  });
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForTimeout(3000); // let the history fill; then measure from a clean slate
  await page.evaluate(() => { const b = /** @type {BenchWindow} */ (window).__bench; b.frames = []; b.longTasks = []; b.updates = 0; });
  await page.waitForTimeout(SECONDS * 1000);
  const r = await page.evaluate(() => /** @type {BenchWindow} */ (window).__bench);
  const header = await page.evaluate(() => document.body.innerText.split('\n').slice(0, 14).join(' | '));
  feeding = false;
  await feed;
  const sorted = [...r.frames].sort((a, b) => a - b);
  /** @param {number} p */
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const lt = [...r.longTasks].sort((a, b) => a - b);
  console.log(`${WORKERS} workers, ${PER_WORKER * WORKERS} records/s fed over HTTP, ${SECONDS} s measured in headless Chromium`);
  console.log(`SSE updates applied: ${r.updates} (${(r.updates / SECONDS).toFixed(2)}/s)`);
  console.log(`page header while measured: ${header}`);
  console.log(`frames: ${r.frames.length} (${(r.frames.length / SECONDS).toFixed(1)}/s); interval p50 ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`);
  console.log(`long tasks (> 50 ms): ${lt.length}, total ${lt.reduce((a, b) => a + b, 0).toFixed(0)} ms, max ${(lt[lt.length - 1] ?? 0).toFixed(0)} ms`);
} finally {
  feeding = false;
  if (browser) await browser.close();
  collector.kill('SIGTERM');
  agent.destroy();
}
