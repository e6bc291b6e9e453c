/** Real processes for the browser test: the built collector and a gunicorn with the shim. */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '../helpers/waiting';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python');
export const CLI = join(REPO_ROOT, 'collector', 'dist', 'cli.js');

/** Resolves with the first stdout match of `pattern`, or rejects on exit or after `timeoutMs`. */
function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms; output: ${out}`));
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(pattern);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${String(code)} before printing ${String(pattern)}; output: ${out}`));
    });
  });
}

export async function startCollector(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [CLI, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const m = await waitForLine(child, /wsgiscope-collector listening on (http:\/\/\S+)/, 15_000);
  return { child, url: m[1]! };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}


export async function startGunicorn(collectorUrl: string, service: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(
    PYTHON,
    ['-m', 'examples.servers.launch', 'gunicorn_gthread', '--port', String(port), '--workers', '1', '--threads', '4'],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, WSGISCOPE_COLLECTOR_URL: collectorUrl, WSGISCOPE_SERVICE_NAME: service, WSGISCOPE_FLUSH_INTERVAL: '0.25' },
    },
  );
  child.stderr.resume();
  const url = `http://127.0.0.1:${port}`;
  await waitFor('gunicorn to answer', 30_000, async () => ((await fetch(`${url}/hello`)).ok ? true : undefined));
  return { child, url };
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
export function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
