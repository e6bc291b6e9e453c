/**
 * GET /api/diagnosis on a real collector (port 0, injected clock), behind --read-token; the
 * thresholds file and its overrides; `wsgiscope-collector diagnose` in process and as the
 * built CLI (exit codes 0 / 1 / 2 / 3, hostile label values printed harmlessly).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch } from '@wsgiscope/protocol';
import { startCollector } from '../../src/collector';
import type { RunningCollector } from '../../src/collector';
import { defaults, parseConfig } from '../../src/config';
import { diagnoseCommand, exitCodeOf, formatFindings, printable } from '../../src/diagnosis/command';
import { FINDING_IDS } from '../../src/diagnosis/rules';
import { ThresholdsError, defaultThresholds, loadThresholds, mergeThresholds } from '../../src/diagnosis/thresholds';
import { batch, sample } from '../helpers/batches';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const HOSTILE = '<img src=x onerror=alert(1)>\u001b[31m';
const TOKEN = 'read-secret';

async function post(url: string, b: Batch): Promise<void> {
  const res = await fetch(`${url}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
  expect([res.status, res.status === 202 ? '' : await res.text()]).toEqual([202, '']);
}

function capture(): { out: string[]; err: string[]; io: { out: (t: string) => void; err: (t: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t) } };
}

describe('GET /api/diagnosis and diagnose', () => {
  let now = 1_000_000;
  let running: RunningCollector;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsgiscope-diagnosis-'));
    // Overridden: a request 5 s in flight is already stuck.
    const overrides = join(dir, 'thresholds.json');
    writeFileSync(overrides, JSON.stringify({ stuck_requests: { oldest_request_age_seconds: 3 } }));
    running = await startCollector({ ...defaults(), port: 0, readToken: TOKEN, diagnosisThresholds: overrides }, () => now);
    const t0 = 1_767_225_600_000_000;
    // A hostile service with requests and no samples (unknown_capacity), and a worker with a
    // request 5 s in flight (stuck_requests with the overridden threshold).
    await post(running.url, batch({ version: 2, resource: { service_name: HOSTILE, worker: 'evil:1', pid: 1 }, rows: [{}, {}] }));
    await post(
      running.url,
      batch({
        version: 2,
        resource: { service_name: 'shop', worker: 'web-1:7' },
        samples: [1, 2, 3, 4].map((i) => sample({ time_unix_us: t0 + i * 250_000, oldest_request_age_us: 5_000_000, busy_thread_us: i * 250_000, busy_threads: 1, active_requests: 1 })),
      }),
    );
    now += 1000;
    running.diagnosis.tick();
  });

  afterAll(async () => {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs the read token like /metrics', async () => {
    const res = await fetch(`${running.url}/api/diagnosis`);
    expect(res.status).toBe(401);
  });

  it('answers the live findings as JSON, label values as sent', async () => {
    const res = await fetch(`${running.url}/api/diagnosis`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { findings: { id: string; severity: string; service_name: string; worker?: string; evidence: { name: string; value: number; unit: string }[] }[]; mode: string };
    expect(body.mode).toBe('live');
    expect(body.findings.map((f) => [f.id, f.severity, f.service_name, f.worker])).toEqual([
      ['stuck_requests', 'warning', 'shop', 'web-1:7'],
      ['unknown_capacity', 'info', HOSTILE, undefined],
    ]);
    expect(body.findings[0]!.evidence).toContainEqual({ name: 'oldest_request_age', value: 5, unit: 'seconds' });
    expect(body.findings[0]!.evidence).toContainEqual({ name: 'threshold', value: 3, unit: 'seconds' });
  });

  it('evaluates a given window once with ?window=, and refuses a bad one', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ok = await fetch(`${running.url}/api/diagnosis?window=30`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { mode: string; window_seconds: number })).toMatchObject({ mode: 'window', window_seconds: 30 });
    const ended = await fetch(`${running.url}/api/diagnosis?window=30&end=${String(now)}`, { headers: auth });
    expect(((await ended.json()) as { evaluated_unix_ms: number }).evaluated_unix_ms).toBe(now);
    expect((await fetch(`${running.url}/api/diagnosis?window=30&end=soon`, { headers: auth })).status).toBe(400);
    for (const bad of ['abc', '-1', '0', '']) {
      const res = await fetch(`${running.url}/api/diagnosis?window=${bad}`, { headers: auth });
      expect(res.status).toBe(400);
    }
  });

  it('diagnose prints the findings, control characters escaped, and exits 1 for a warning', async () => {
    const c = capture();
    const code = await diagnoseCommand(['--url', running.url, '--token', TOKEN], c.io, {});
    expect(code).toBe(1);
    const text = c.out.join('');
    expect(text).toContain('WARNING stuck_requests  shop / gunicorn / web-1:7');
    expect(text).toContain('INFO unknown_capacity  <img src=x onerror=alert(1)>\\x1b[31m / gunicorn');
    expect(text).toContain('evidence: oldest_request_age 5 seconds, threshold 3 seconds');
    expect(text).not.toContain('\u001b');
  });

  it('diagnose --json prints the answer; --window asks for one window', async () => {
    const c = capture();
    expect(await diagnoseCommand(['--url', running.url, '--json', '--window', '20'], c.io, { WSGISCOPE_COLLECTOR_READ_TOKEN: TOKEN })).toBe(1);
    expect((JSON.parse(c.out.join('')) as { mode: string }).mode).toBe('window');
  });

  it('diagnose exits 3 without a diagnosis: no token, nothing listening, bad arguments', async () => {
    const noToken = capture();
    expect(await diagnoseCommand(['--url', running.url], noToken.io, {})).toBe(3);
    expect(noToken.err.join('')).toContain('answered 401');
    const nothing = capture();
    expect(await diagnoseCommand(['--url', 'http://127.0.0.1:9', '--timeout', '2'], nothing.io, {})).toBe(3);
    expect(nothing.err.join('')).toContain('no diagnosis from http://127.0.0.1:9/api/diagnosis');
    for (const args of [[], ['--url', 'ftp://x'], ['--url', running.url, '--window', 'x'], ['--bogus']]) {
      const c = capture();
      expect(await diagnoseCommand(args, c.io, {})).toBe(3);
      expect(c.err.join('')).toMatch(/^wsgiscope-collector diagnose: /);
    }
    const help = capture();
    expect(await diagnoseCommand(['--help'], help.io, {})).toBe(0);
    expect(help.out.join('')).toContain('Exit code: 0 healthy (info at most), 1 warning, 2 critical, 3 no diagnosis');
  });

  (existsSync(CLI) ? it : it.skip)('the built CLI: wsgiscope-collector diagnose --url URL', async () => {
    // Not spawnSync: the collector answering it runs in this very process.
    const child = spawn(process.execPath, [CLI, 'diagnose', '--url', running.url, '--token', TOKEN], { stdio: 'pipe' });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(status).toBe(1);
    expect(stdout).toContain('WARNING stuck_requests');
  });
});

describe('exit codes and printing', () => {
  it('0 for info only, 1 for a warning, 2 for a critical finding', () => {
    expect(exitCodeOf([])).toBe(0);
    expect(exitCodeOf([{ severity: 'info' }])).toBe(0);
    expect(exitCodeOf([{ severity: 'info' }, { severity: 'warning' }])).toBe(1);
    expect(exitCodeOf([{ severity: 'warning' }, { severity: 'critical' }])).toBe(2);
  });
  it('no terminal control character is printed', () => {
    expect(printable('a\u001b[2Jb\r\n\u009b')).toBe('a\\x1b[2Jb\\x0d\\x0a\\x9b');
    expect(formatFindings([], 'x')).toBe('x: no findings');
  });
});

describe('thresholds', () => {
  it('ship one value for every rule and finding id in thresholds.json', () => {
    const t = defaultThresholds();
    expect(t.window_seconds).toBe(60);
    expect(t.onset_seconds).toBeLessThanOrEqual(10);
    expect(t.onset_seconds + t.clear_after_seconds).toBeLessThanOrEqual(60);
    for (const id of FINDING_IDS) {
      if (id !== 'unknown_capacity') expect(Object.keys(t)).toContain(id);
    }
  });
  it('an override changes only what it names', () => {
    const t = mergeThresholds(defaultThresholds(), { onset_seconds: 5, slow_clients: { io_share_ratio: 0.5 } });
    expect(t.onset_seconds).toBe(5);
    expect(t.slow_clients).toEqual({ ...defaultThresholds().slow_clients, io_share_ratio: 0.5 });
    expect(t.capacity_exhausted).toEqual(defaultThresholds().capacity_exhausted);
  });
  it.each([
    [{ nope: 1 }, 'unknown key "nope"'],
    [{ slow_clients: { nope: 1 } }, 'unknown key "slow_clients.nope"'],
    [{ slow_clients: 3 }, '"slow_clients" in x must be an object'],
    [{ onset_seconds: -1 }, '"onset_seconds" in x must be a positive number'],
    [{ onset_seconds: '5' }, 'must be a positive number'],
    [{ clear_factor: 1.5 }, '"clear_factor" in x must be at most 1'],
    [[], 'x must be a JSON object'],
  ])('refuses %j', (override, message) => {
    expect(() => mergeThresholds(defaultThresholds(), override, 'x')).toThrow(ThresholdsError);
    expect(() => mergeThresholds(defaultThresholds(), override, 'x')).toThrow(message);
  });
  it('a missing file is one clear error, and stops the collector from starting', async () => {
    expect(() => loadThresholds('/nonexistent/t.json')).toThrow('cannot read diagnosis thresholds /nonexistent/t.json');
    await expect(startCollector({ ...defaults(), port: 0, diagnosisThresholds: '/nonexistent/t.json' })).rejects.toThrow(ThresholdsError);
  });
  it('is configurable by flag and environment', () => {
    const flag = parseConfig(['--diagnosis-thresholds', '/etc/t.json'], {});
    const env = parseConfig([], { WSGISCOPE_COLLECTOR_DIAGNOSIS_THRESHOLDS: '/etc/e.json' });
    expect(flag.help ? undefined : flag.config.diagnosisThresholds).toBe('/etc/t.json');
    expect(env.help ? undefined : env.config.diagnosisThresholds).toBe('/etc/e.json');
  });
});
