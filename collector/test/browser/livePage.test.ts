/**
 * The live page in headless Chromium, against the real collector fed by a real gunicorn
 * (gthread, 1 worker x 4 threads) with the shim: 4 long requests (/sleep?ms=1500) hold every
 * thread while short /hello requests wait behind them. The timeline must show those bars, the
 * charts must move, the console must stay clean, and hostile label values must stay text.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { waitFor } from '../helpers/waiting';
import { PYTHON, REPO_ROOT, startCollector, startGunicorn, stop } from './processes';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = join(REPO_ROOT, 'test-results');
const HOSTILE_SERVICE = '<img src=x onerror=alert(1)>';
const HOSTILE_ROUTE = '</script><script>alert(1)</script>';
const canRun = existsSync(CHROMIUM) && existsSync(PYTHON);

interface Lane {
  worker: string;
  thread: number;
  bars: number;
  max_ms: number;
}

jest.setTimeout(60_000);

(canRun ? describe : describe.skip)('live page in Chromium', () => {
  let collector: { child: ChildProcess; url: string } | undefined;
  let gunicorn: { child: ChildProcess; url: string } | undefined;
  let browser: BrowserContext | undefined;
  let page: Page;
  let profile: string;
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'wsgiscope-chromium-'));
    collector = await startCollector(['--routes']);
    gunicorn = await startGunicorn(collector.url, 'live-test');
    // A fresh profile directory per run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1500 },
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
      ],
    });
    page = await browser.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stop(gunicorn?.child);
    await stop(collector?.child);
    rmSync(profile, { recursive: true, force: true });
  });

  async function lanes(): Promise<Lane[]> {
    return JSON.parse((await page.getAttribute('#timeline', 'data-lanes')) ?? '[]') as Lane[];
  }

  async function updates(): Promise<number> {
    return Number((await page.getAttribute('body', 'data-updates')) ?? '0');
  }

  it('shows long requests holding every thread and short ones behind them, with moving charts', async () => {
    const app = gunicorn!.url;
    await page.goto(`${collector!.url}/`);
    await waitFor('the first snapshot', 10_000, async () => ((await updates()) > 0 ? true : undefined));

    const long = Array.from({ length: 4 }, () => fetch(`${app}/sleep?ms=1500`).then((r) => r.text()));
    await new Promise((r) => setTimeout(r, 200)); // let the 4 long ones take the 4 threads first
    const short: Promise<string>[] = [];
    for (let i = 0; i < 40; i++) short.push(fetch(`${app}/hello`).then((r) => r.text()));
    await Promise.all([...long, ...short]);

    const seen = await waitFor('4 long bars on the timeline', 15_000, async () => {
      const l = await lanes();
      return l.filter((lane) => lane.max_ms >= 1500).length >= 4 ? l : undefined;
    });
    const longLanes = seen.filter((lane) => lane.max_ms >= 1500);
    expect(new Set(longLanes.map((lane) => lane.thread)).size).toBe(4); // one per thread: all 4 held
    const bars = seen.reduce((n, lane) => n + lane.bars, 0);
    expect(bars).toBeGreaterThanOrEqual(4 + 40);
    expect(Number(await page.getAttribute('#timeline', 'data-bars'))).toBe(bars);

    // Charts move: a later snapshot covers a later second and the rate chart saw the load.
    const firstTime = await page.getAttribute('[data-chart="rate"]', 'data-last-time');
    const before = await updates();
    await waitFor('two more snapshots', 5000, async () => ((await updates()) >= before + 2 ? true : undefined));
    expect(await page.getAttribute('[data-chart="rate"]', 'data-last-time')).not.toBe(firstTime);
    const peak = await waitFor('the load on the rate chart', 10_000, async () => {
      const max = Number(await page.getAttribute('[data-chart="rate"]', 'data-max'));
      return max >= 10 ? max : undefined;
    });
    expect(peak).toBeGreaterThanOrEqual(10);
    expect(await page.locator('#workers tbody tr').count()).toBe(1);

    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'live-page.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });

  it('renders hostile service names and routes as text, never as markup', async () => {
    const now = Date.now() * 1000;
    const batch = {
      protocol_version: 1,
      resource: {
        service_name: HOSTILE_SERVICE, server: 'gunicorn', server_version: '23.0.0', worker_class: 'sync', python_version: '3.11.7',
        shim_version: '0.1.0', host: 'evil', pid: 666, worker: 'evil:666<b>', started_unix_us: now - 10e6, capacity_threads: 1,
        capacity_processes: 1, capacity_source: 'detected', cpu_attributable: true,
      },
      seq: 1,
      requests: {
        start_unix_us: [now - 3e6], method: ['GET'], route: [HOSTILE_ROUTE], status: [200], duration_us: [1000], queue_us: [null],
        read_us: [0], app_us: [900], first_byte_us: [950], write_us: [50], cpu_us: [500], bytes_in: [0], bytes_out: [10],
        error: [null], thread: [0],
      },
      samples: [],
    };
    const res = await fetch(`${collector!.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) });
    expect(res.status).toBe(202);

    const cellTexts = (selector: string): Promise<string[]> => page.locator(selector).allTextContents();
    await waitFor('the hostile route in the routes table', 10_000, async () =>
      (await cellTexts('#routes tbody td:first-child')).includes(HOSTILE_ROUTE) ? true : undefined,
    );
    expect(await cellTexts('#services tbody td:first-child')).toContain(HOSTILE_SERVICE);
    expect(await cellTexts('#workers tbody td:first-child')).toContain('evil:666<b>');
    expect(await page.locator('table img, table script, table b').count()).toBe(0);
    // The diagnosis panel: requests and no samples from the hostile service → unknown_capacity.
    await waitFor('the hostile service in the diagnosis panel', 15_000, async () =>
      (await cellTexts('#diagnosis li .where')).some((t) => t.startsWith(HOSTILE_SERVICE)) ? true : undefined,
    );
    expect(await page.locator('#diagnosis img, #diagnosis script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('lists the slowest requests with phase bars, hostile strings as text', async () => {
    const now = Date.now() * 1000;
    const start = now - 5e6;
    const batch = {
      protocol_version: 2,
      resource: {
        service_name: HOSTILE_SERVICE, server: 'gunicorn', server_version: '23.0.0', worker_class: 'sync', python_version: '3.11.7',
        shim_version: '0.1.0', host: 'evil', pid: 667, worker: 'evil:667', started_unix_us: now - 10e6, capacity_threads: 1,
        capacity_processes: 1, capacity_source: 'detected', cpu_attributable: true, detected_capacity_threads: null,
      },
      seq: 0,
      requests: {
        start_unix_us: [start], method: ['GET'], route: [HOSTILE_ROUTE], status: [500], duration_us: [2_500_000], queue_us: [null],
        read_us: [0], app_us: [1000], gen_us: [2_000_000], first_byte_us: [300_000], write_us: [499_000], cpu_us: [500], bytes_in: [0],
        bytes_out: [10], error: ['<b>Boom</b>'], thread: [0],
      },
      samples: [],
      traces: [{
        start_unix_us: start, duration_us: 2_500_000, method: 'GET', route: HOSTILE_ROUTE, status: 500, thread: 0, reason: 'slow',
        traceparent: null, error: '<b>Boom</b>',
        phases: { queue: null, read_body: null, app: [0, 1000, 1000], generate: [1000, 2_001_000, 2_000_000], write: [300_000, 2_500_000, 499_000] },
      }],
    };
    const res = await fetch(`${collector!.url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) });
    expect(res.status).toBe(202);
    const row = page.locator('#slow tbody tr', { hasText: HOSTILE_SERVICE });
    await waitFor('the hostile request in the slowest requests table', 10_000, async () => ((await row.count()) === 1 ? true : undefined));
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1, 6)).toEqual([HOSTILE_SERVICE, 'GET', HOSTILE_ROUTE, '500 <b>Boom</b>', '2.50 s']);
    expect(cells[7]).toMatch(/^[0-9a-f]{32}$/);
    expect(await row.locator('.phasebar').getAttribute('data-phases')).toBe('3'); // app, body generation, write
    expect(await page.locator('#slow img, #slow script, #slow b').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
