/**
 * `wsgiscope-collector diagnose --url URL [--window SECONDS] [--token TOKEN] [--json]`: asks a
 * running collector's GET /api/diagnosis and prints the findings. The exit code follows the
 * monitoring-plugin convention: 0 nothing at warning or above, 1 a warning, 2 a critical
 * finding, 3 the diagnosis could not be had (bad arguments, no answer, not a diagnosis).
 */
export const DIAGNOSE_HELP = [
  'Usage: wsgiscope-collector diagnose --url URL [--window SECONDS] [--token TOKEN] [--json]',
  '',
  "Prints a running collector's findings (GET URL/api/diagnosis, docs/diagnosis.md).",
  '',
  '  --url URL           the collector, e.g. http://127.0.0.1:9464 (env WSGISCOPE_COLLECTOR_URL)',
  '  --window SECONDS    evaluate the last SECONDS once instead of the live findings',
  '  --token TOKEN       bearer token when the collector has --read-token (env WSGISCOPE_COLLECTOR_READ_TOKEN)',
  '  --json              print the JSON answer as is',
  '  --timeout SECONDS   give up after this long (default 10)',
  '',
  'Exit code: 0 healthy (info at most), 1 warning, 2 critical, 3 no diagnosis (error).',
].join('\n');

interface Options {
  url: string;
  window: number | undefined;
  token: string | undefined;
  json: boolean;
  timeoutS: number;
}

class UsageError extends Error {}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): Options | 'help' {
  const o: Options = {
    url: env.WSGISCOPE_COLLECTOR_URL ?? '',
    window: undefined,
    token: env.WSGISCOPE_COLLECTOR_READ_TOKEN,
    json: false,
    timeoutS: 10,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${name} needs a value`);
      return v;
    };
    const seconds = (): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${name} must be a positive number of seconds`);
      return v;
    };
    if (name === '--help' || name === '-h') return 'help';
    else if (name === '--url') o.url = value();
    else if (name === '--window') o.window = seconds();
    else if (name === '--timeout') o.timeoutS = seconds();
    else if (name === '--token') o.token = value();
    else if (name === '--json') o.json = true;
    else throw new UsageError(`unknown option ${arg}; see diagnose --help`);
  }
  if (o.url === '') throw new UsageError('--url is required');
  if (!/^https?:\/\//.test(o.url)) throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(o.url)}`);
  return o;
}

interface PrintedFinding {
  id: string;
  severity: string;
  service_name: string;
  server: string;
  worker?: string;
  summary: string;
  evidence: { name: string; value: number; unit: string }[];
  advice: string;
}

/** Label values come from the network: no terminal control characters reach the screen. */
export function printable(text: unknown): string {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function isReport(body: unknown): body is { findings: PrintedFinding[]; mode?: string; window_seconds?: number } {
  if (typeof body !== 'object' || body === null) return false;
  const findings = (body as { findings?: unknown }).findings;
  return Array.isArray(findings) && findings.every((f) => typeof f === 'object' && f !== null && typeof (f as PrintedFinding).id === 'string' && Array.isArray((f as PrintedFinding).evidence));
}

export function formatFindings(findings: readonly PrintedFinding[], heading: string): string {
  const lines = [`${heading}: ${findings.length === 0 ? 'no findings' : `${String(findings.length)} finding(s)`}`];
  for (const f of findings) {
    const where = [f.service_name, f.server, f.worker].filter((x) => x !== undefined).map(printable).join(' / ');
    lines.push('', `${printable(f.severity).toUpperCase()} ${printable(f.id)}  ${where}`, `  ${printable(f.summary)}`);
    lines.push(`  evidence: ${f.evidence.map((e) => `${printable(e.name)} ${printable(e.value)} ${printable(e.unit)}`).join(', ')}`);
    lines.push(`  advice: ${printable(f.advice)}`);
  }
  return lines.join('\n');
}

export function exitCodeOf(findings: readonly { severity: string }[]): number {
  if (findings.some((f) => f.severity === 'critical')) return 2;
  if (findings.some((f) => f.severity === 'warning')) return 1;
  return 0;
}

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Runs the command; resolves to the exit code. */
export async function diagnoseCommand(argv: readonly string[], io: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let options: Options | 'help';
  try {
    options = parse(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`wsgiscope-collector diagnose: ${err.message}\n`);
    return 3;
  }
  if (options === 'help') {
    io.out(`${DIAGNOSE_HELP}\n`);
    return 0;
  }
  const url = new URL('/api/diagnosis', options.url.endsWith('/') ? options.url : `${options.url}/`);
  if (options.window !== undefined) url.searchParams.set('window', String(options.window));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: unknown;
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(options.timeoutS * 1000) });
    const text = await res.text();
    if (!res.ok) {
      io.err(`wsgiscope-collector diagnose: ${url.href} answered ${String(res.status)}: ${printable(text.slice(0, 200))}\n`);
      return 3;
    }
    body = JSON.parse(text) as unknown;
  } catch (err) {
    io.err(`wsgiscope-collector diagnose: no diagnosis from ${url.href}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 3;
  }
  if (!isReport(body)) {
    io.err(`wsgiscope-collector diagnose: ${url.href} did not answer a diagnosis ({"findings": [...]})\n`);
    return 3;
  }
  if (options.json) io.out(`${JSON.stringify(body, null, 2)}\n`);
  else {
    const how = body.mode === 'window' ? `over the last ${String(body.window_seconds)} s` : 'live';
    io.out(`${formatFindings(body.findings, `wsgiscope diagnosis of ${printable(options.url)} (${how})`)}\n`);
  }
  return exitCodeOf(body.findings);
}
