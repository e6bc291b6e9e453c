/**
 * The collector's configuration: one object, parsed once at start-up from (lowest to highest
 * precedence) defaults, a JSON config file, WSGISCOPE_COLLECTOR_* environment variables and
 * command-line flags. Every bad value stops start-up with one sentence.
 */
import { readFileSync } from 'node:fs';
import type { OtlpExportConfig } from './otlp/export/endpoint';
import { OTLP_COMPRESSIONS, OTLP_PROTOCOLS, endpointUrl, parseKeyValues } from './otlp/export/endpoint';

export interface CollectorConfig extends OtlpExportConfig {
  port: number;
  host: string;
  workerExpirySeconds: number;
  token: string | undefined;
  /** Bearer token required on GET /metrics and the live page; undefined = open (as Prometheus expects). */
  readToken: string | undefined;
  maxBodyBytes: number;
  maxSeriesPerMetric: number;
  /** 0 = no rate limit. */
  rateLimitBatchesPerSecond: number;
  routes: boolean;
  /** OTLP/gRPC ingest port; undefined = no gRPC server (the default). */
  otlpGrpcPort: number | undefined;
  /** Address the OTLP/gRPC server binds. */
  otlpGrpcHost: string;
  /** JSON file overriding any of collector/src/diagnosis/thresholds.json; undefined = the shipped ones. */
  diagnosisThresholds: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Key = keyof CollectorConfig;
type Convert = (raw: unknown, where: string) => CollectorConfig[Key];

interface Row {
  key: Key;
  flag: string;
  env: string;
  /** A standard OpenTelemetry variable read too, below WSGISCOPE_COLLECTOR_<env>. */
  otelEnv?: string;
  /** The names before they carried their unit: still read, below the new ones. */
  old?: { key: string; flag: string; env: string };
  convert: Convert;
  default: CollectorConfig[Key];
  help: string;
}

function integer(min: number, max: number): Convert {
  return (raw, where) => {
    const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(`${where} must be an integer from ${String(min)} to ${String(max)}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
}

function positiveNumber(raw: unknown, where: string): number {
  const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${where} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function nonNegativeNumber(raw: unknown, where: string): number {
  const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${where} must be a number >= 0, got ${JSON.stringify(raw)}`);
  return value;
}

function text(raw: unknown, where: string): string {
  if (typeof raw !== 'string' || raw === '') throw new ConfigError(`${where} must be a non-empty string`);
  return raw;
}

function oneOf(values: readonly string[]): Convert {
  return (raw, where) => {
    const value = String(raw).trim().toLowerCase();
    if (!values.includes(value)) throw new ConfigError(`${where} must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    return value;
  };
}

function otlpEndpoint(raw: unknown, where: string): string {
  const value = text(typeof raw === 'string' ? raw.trim() : raw, where);
  try {
    endpointUrl(value);
  } catch (err) {
    throw new ConfigError(`${where} must be an http(s) URL, got ${JSON.stringify(raw)} (${err instanceof Error ? err.message : String(err)})`);
  }
  return value;
}

function keyValues(raw: unknown, where: string): string {
  const value = text(raw, where);
  try {
    parseKeyValues(value);
  } catch (err) {
    throw new ConfigError(`${where} must be key=value pairs separated by commas: ${err instanceof Error ? err.message : String(err)}`);
  }
  return value;
}

function boolean(raw: unknown, where: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const value = String(raw).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(raw)}`);
}

const ROWS: readonly Row[] = [
  { key: 'port', flag: '--port', env: 'PORT', convert: integer(0, 65535), default: 9464,
    help: 'TCP port to listen on; 0 picks a free port' },
  { key: 'host', flag: '--host', env: 'HOST', convert: text, default: '127.0.0.1',
    help: 'address to bind (the default keeps the collector local)' },
  { key: 'workerExpirySeconds', flag: '--worker-expiry-seconds', env: 'WORKER_EXPIRY_SECONDS', convert: positiveNumber,
    default: 60, help: 'forget a worker after this many seconds without a batch' },
  { key: 'token', flag: '--token', env: 'TOKEN', convert: text, default: undefined,
    help: 'require "Authorization: Bearer TOKEN" on ingest' },
  { key: 'readToken', flag: '--read-token', env: 'READ_TOKEN', convert: text, default: undefined,
    help: 'require "Authorization: Bearer TOKEN" on GET /metrics and the live page (default open)' },
  { key: 'maxBodyBytes', flag: '--max-body-bytes', env: 'MAX_BODY_BYTES', convert: integer(1024, 1 << 30),
    default: 16 * 1024 * 1024, help: 'largest batch accepted, on the wire and after gunzip' },
  { key: 'maxSeriesPerMetric', flag: '--max-series-per-metric', env: 'MAX_SERIES_PER_METRIC', convert: integer(1, 1_000_000),
    default: 2000, help: 'cardinality guard: request label sets and workers held at most' },
  { key: 'rateLimitBatchesPerSecond', flag: '--rate-limit-batches-per-second', env: 'RATE_LIMIT_BATCHES_PER_SECOND',
    convert: nonNegativeNumber, default: 0, help: 'batches per second per client address (bursts of twice that); 0 = off' },
  { key: 'routes', flag: '--routes', env: 'ROUTES', convert: boolean, default: true,
    help: "keep the http_route label the shims send (framework route tables, bounded; other routes only where the app's user enabled them); --routes=false drops it" },
  { key: 'otlpGrpcPort', flag: '--otlp-grpc-port', env: 'OTLP_GRPC_PORT', convert: integer(0, 65535), default: undefined,
    help: 'also receive OTLP over gRPC on this port (4317 is the standard one; off by default; 0 picks a free port)' },
  { key: 'otlpGrpcHost', flag: '--otlp-grpc-host', env: 'OTLP_GRPC_HOST', convert: text, default: '127.0.0.1',
    help: 'address the OTLP/gRPC server binds' },
  { key: 'diagnosisThresholds', flag: '--diagnosis-thresholds', env: 'DIAGNOSIS_THRESHOLDS', convert: text, default: undefined,
    help: 'JSON file overriding diagnosis thresholds (any keys of the shipped thresholds.json, docs/diagnosis.md)' },
  { key: 'otlpEndpoint', flag: '--otlp-endpoint', env: 'OTLP_ENDPOINT', otelEnv: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    convert: otlpEndpoint, default: undefined,
    help: 'push metrics by OTLP to this base URL (v1/metrics appended for OTLP/HTTP); export is off without an endpoint' },
  { key: 'otlpMetricsEndpoint', flag: '--otlp-metrics-endpoint', env: 'OTLP_METRICS_ENDPOINT',
    otelEnv: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', convert: otlpEndpoint, default: undefined,
    help: 'push metrics by OTLP to exactly this URL (beats --otlp-endpoint)' },
  { key: 'otlpTracesEndpoint', flag: '--otlp-traces-endpoint', env: 'OTLP_TRACES_ENDPOINT',
    otelEnv: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', convert: otlpEndpoint, default: undefined,
    help: 'push traces by OTLP to exactly this URL (beats --otlp-endpoint)' },
  { key: 'otlpProtocol', flag: '--otlp-protocol', env: 'OTLP_PROTOCOL', otelEnv: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    convert: oneOf(OTLP_PROTOCOLS), default: 'http/protobuf', help: 'OTLP export protocol: http/protobuf, http/json or grpc' },
  { key: 'otlpHeaders', flag: '--otlp-headers', env: 'OTLP_HEADERS', otelEnv: 'OTEL_EXPORTER_OTLP_HEADERS', convert: keyValues,
    default: undefined, help: 'headers sent with every OTLP export request: key=value,key2=value2 (values percent-encoded)' },
  { key: 'otlpCompression', flag: '--otlp-compression', env: 'OTLP_COMPRESSION', otelEnv: 'OTEL_EXPORTER_OTLP_COMPRESSION',
    convert: oneOf(OTLP_COMPRESSIONS), default: 'none', help: 'OTLP export compression: none or gzip' },
  { key: 'otlpTimeoutMs', flag: '--otlp-timeout-ms', env: 'OTLP_TIMEOUT_MS', otelEnv: 'OTEL_EXPORTER_OTLP_TIMEOUT',
    convert: integer(1, 600_000), default: 10_000, help: 'time limit of one OTLP export attempt, in milliseconds' },
  { key: 'otlpExportIntervalMs', flag: '--otlp-export-interval-ms', env: 'OTLP_EXPORT_INTERVAL_MS',
    otelEnv: 'OTEL_METRIC_EXPORT_INTERVAL', convert: integer(100, 86_400_000), default: 60_000,
    help: 'how often metrics are pushed by OTLP, in milliseconds' },
  { key: 'otlpTracesDelayMs', flag: '--otlp-traces-delay-ms', env: 'OTLP_TRACES_DELAY_MS',
    otelEnv: 'OTEL_BSP_SCHEDULE_DELAY', convert: integer(10, 600_000), default: 5000,
    help: 'longest wait of a slow-request trace before it is pushed by OTLP, in milliseconds' },
  { key: 'otlpMaxQueuedRequests', flag: '--otlp-max-queued-requests', env: 'OTLP_MAX_QUEUED_REQUESTS',
    old: { key: 'otlpQueueSize', flag: '--otlp-queue-size', env: 'OTLP_QUEUE_SIZE' }, convert: integer(1, 10_000), default: 8,
    help: 'OTLP export requests waiting at most (the oldest is dropped past it, and counted)' },
  { key: 'otlpResourceAttributes', flag: '--otlp-resource-attributes', env: 'OTLP_RESOURCE_ATTRIBUTES',
    otelEnv: 'OTEL_RESOURCE_ATTRIBUTES', convert: keyValues, default: undefined,
    help: 'attributes added to every exported resource: key=value,key2=value2 (the collector\'s own win)' },
];

export const ENV_PREFIX = 'WSGISCOPE_COLLECTOR_';

export function defaults(): CollectorConfig {
  const config: Record<string, unknown> = {};
  for (const row of ROWS) config[row.key] = row.default;
  return config as unknown as CollectorConfig;
}

export function helpText(): string {
  const lines = [
    'Usage: wsgiscope-collector [options]',
    '       wsgiscope-collector diagnose --url URL   (print a running collector\'s findings; diagnose --help)',
    '',
    'Receives wsgiscope batches on POST /v1/batches and serves Prometheus metrics on /metrics.',
    '',
    'Options (also settable as WSGISCOPE_COLLECTOR_<NAME> or as camelCase keys in --config):',
  ];
  for (const row of ROWS) {
    const value = row.key === 'routes' ? '' : ' VALUE';
    const def = row.default === undefined ? '' : ` (default ${String(row.default)})`;
    const otel = row.otelEnv === undefined ? '' : ` or ${row.otelEnv}`;
    const old = row.old === undefined ? '' : ` (old names: ${row.old.flag}, ${ENV_PREFIX}${row.old.env}, "${row.old.key}")`;
    lines.push(`  ${(row.flag + value).padEnd(40)}${row.help}${def}; env ${ENV_PREFIX}${row.env}${otel}${old}`);
  }
  lines.push(`  ${'--config FILE'.padEnd(40)}JSON file of options; env ${ENV_PREFIX}CONFIG`);
  lines.push(`  ${'--help'.padEnd(40)}show this text`);
  return lines.join('\n');
}

export type ParsedArgs = { help: true } | { help: false; config: CollectorConfig };

/** Parse argv (without node and script) and the environment into one config. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const flags = new Map<Key, string | boolean>();
  const byOldFlag = new Set<Key>(); // set through an old flag name: a new one given too wins
  let configFile = env[`${ENV_PREFIX}CONFIG`];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { help: true };
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--config') {
      configFile = inline ?? argv[++i];
      if (configFile === undefined) throw new ConfigError('--config needs a file name');
      continue;
    }
    const row = ROWS.find((r) => r.flag === name || r.old?.flag === name);
    if (row === undefined) throw new ConfigError(`unknown option ${arg}; see --help`);
    const viaOld = row.flag !== name;
    if (row.key === 'routes' && inline === undefined) {
      flags.set(row.key, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    if (viaOld && flags.has(row.key) && !byOldFlag.has(row.key)) continue;
    if (viaOld) byOldFlag.add(row.key);
    else byOldFlag.delete(row.key);
    flags.set(row.key, value);
  }

  const config = defaults() as unknown as Record<Key, unknown>;
  if (configFile !== undefined) {
    const entries = Object.entries(readConfigFile(configFile));
    for (const [key, value] of entries) {
      const row = ROWS.find((r) => r.key === key || r.old?.key === key);
      if (row === undefined) throw new ConfigError(`unknown key "${key}" in ${configFile}`);
      if (row.key !== key && entries.some(([other]) => other === row.key)) continue; // the new key wins
      config[row.key] = row.convert(value, `"${key}" in ${configFile}`);
    }
  }
  for (const row of ROWS) {
    const raw = env[ENV_PREFIX + row.env];
    const oldRaw = row.old === undefined ? undefined : env[ENV_PREFIX + row.old.env];
    if (raw !== undefined && raw !== '') config[row.key] = row.convert(raw, ENV_PREFIX + row.env);
    else if (row.old !== undefined && oldRaw !== undefined && oldRaw !== '') {
      config[row.key] = row.convert(oldRaw, ENV_PREFIX + row.old.env);
    } else if (row.otelEnv !== undefined) {
      const standard = env[row.otelEnv];
      if (standard !== undefined && standard !== '') config[row.key] = row.convert(standard, row.otelEnv);
    }
  }
  for (const [key, raw] of flags) {
    const row = ROWS.find((r) => r.key === key);
    if (row !== undefined) config[key] = row.convert(raw, byOldFlag.has(key) && row.old !== undefined ? row.old.flag : row.flag);
  }
  return { help: false, config: config as unknown as CollectorConfig };
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
