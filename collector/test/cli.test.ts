/**
 * The built CLI as a real process: `npm run build` first (the test:ts script does).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { batch } from './helpers/batches';
import { parseExposition, valueOf } from './helpers/exposition';

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const LISTENING = /^wsgiscope-collector listening on (http:\/\/\S+)$/m;

function startCli(args: string[]): { child: ChildProcessWithoutNullStreams; url: Promise<string> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: 'pipe' });
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const deadline = setTimeout(() => {
      reject(new Error(`no listening line within 10 s; stdout=${out} stderr=${err}`));
    }, 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = LISTENING.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(deadline);
        resolve(match[1]);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(deadline);
      reject(new Error(`exited ${String(code)} before listening; stderr=${err}`));
    });
  });
  return { child, url };
}

function exitCode(child: ChildProcessWithoutNullStreams): Promise<number | string | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code, signal) => {
    resolve(code ?? signal);
  }));
}

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        resolve(body);
      });
    }).on('error', reject);
  });
}

function runToExit(args: string[]): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return exitCode(child).then((code) => ({ code, stdout, stderr }));
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
});

describe('wsgiscope-collector CLI', () => {
  it('prints the listening line, ingests, serves metrics and exits 0 on SIGTERM', async () => {
    const { child, url } = startCli(['--port', '0', '--worker-expiry-seconds', '30']);
    try {
      const base = await url;
      const res = await fetch(`${base}/v1/batches`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(batch({ rows: [{}, {}] })),
      });
      expect(res.status).toBe(202);
      const parsed = parseExposition(await fetchText(`${base}/metrics`));
      expect(valueOf(parsed, 'http_server_request_duration_seconds_count')).toBe(2);
      expect(valueOf(parsed, 'wsgiscope_collector_ingested_records_total')).toBe(2);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exitCode(child)).toBe(0);
  });

  it('exits 0 on SIGINT as well', async () => {
    const { child, url } = startCli(['--port', '0']);
    await url;
    child.kill('SIGINT');
    expect(await exitCode(child)).toBe(0);
  });

  it('prints help and exits 0', async () => {
    const { code, stdout } = await runToExit(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: wsgiscope-collector');
  });

  it('refuses a bad flag with exit 2 and one sentence on stderr', async () => {
    const { code, stderr } = await runToExit(['--port', 'nope']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--port must be an integer/);
  });
});
