/**
 * Where and how the OTLP export sends, from the collector's config (flags, WSGISCOPE_COLLECTOR_*
 * or the standard OTEL_EXPORTER_OTLP_* variables; docs/otlp.md), following the OpenTelemetry
 * exporter specification: the generic endpoint is a base URL to which `v1/metrics` (or
 * `v1/traces`) is appended for OTLP/HTTP, a signal-specific one is used as it is, and gRPC
 * takes the endpoint's host and port. Export is off unless an endpoint is given: the collector
 * never pushes anywhere it was not told to.
 */

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export const OTLP_COMPRESSIONS = ['none', 'gzip'] as const;
export type OtlpCompression = (typeof OTLP_COMPRESSIONS)[number];

export type Signal = 'metrics' | 'traces';

/** The export settings of the collector's config, as parsed by config.ts. */
export interface OtlpExportConfig {
  otlpEndpoint: string | undefined;
  otlpMetricsEndpoint: string | undefined;
  otlpTracesEndpoint: string | undefined;
  otlpProtocol: OtlpProtocol;
  otlpHeaders: string | undefined;
  otlpCompression: OtlpCompression;
  otlpTimeoutMs: number;
  otlpExportIntervalMs: number;
  /** Longest wait of a slow-request trace before its batch is exported (OTEL_BSP_SCHEDULE_DELAY). */
  otlpTracesDelayMs: number;
  otlpMaxQueuedRequests: number;
  /** OTEL_RESOURCE_ATTRIBUTES: added to every exported resource (key=value,…). */
  otlpResourceAttributes: string | undefined;
}

/** One signal's destination, resolved. */
export interface ExportTarget {
  signal: Signal;
  protocol: OtlpProtocol;
  /** OTLP/HTTP: the full URL posted to. gRPC: `http(s)://host:port` (the path is ignored). */
  url: URL;
  headers: Record<string, string>;
  compression: OtlpCompression;
  timeoutMs: number;
}

/**
 * `OTEL_EXPORTER_OTLP_HEADERS`: `key1=value1,key2=value2`, values percent-decoded, blanks around
 * items ignored. Throws a sentence for an item without `=` or an empty key.
 */
export function parseOtlpHeaders(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(parseKeyValues(raw))) headers[key.toLowerCase()] = value;
  return headers;
}

/**
 * The `key1=value1,key2=value2` lists of OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES:
 * values percent-decoded, blanks around items ignored, keys kept as written.
 */
export function parseKeyValues(raw: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of raw.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0 || item.slice(0, eq).trim() === '') throw new Error(`"${item.trim()}" is not key=value`);
    const key = item.slice(0, eq).trim();
    let value: string;
    try {
      value = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      throw new Error(`the value of "${key}" is not valid percent-encoding`);
    }
    pairs[key] = value;
  }
  return pairs;
}

/** An endpoint as a URL; `host:port` without a scheme is taken as http (gRPC's habit). */
export function endpointUrl(raw: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${raw} is not an http or https URL`);
  return url;
}

/** The generic endpoint with `v1/<signal>` appended to its path (the spec's rule for OTLP/HTTP). */
export function signalUrl(base: string, signal: Signal): URL {
  const url = endpointUrl(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/${signal}`;
  return url;
}

/** The destination of one signal, or undefined when no endpoint is configured for it. */
export function exportTarget(config: OtlpExportConfig, signal: Signal): ExportTarget | undefined {
  const specific = signal === 'metrics' ? config.otlpMetricsEndpoint : config.otlpTracesEndpoint;
  let url: URL;
  if (specific !== undefined) url = endpointUrl(specific);
  else if (config.otlpEndpoint !== undefined) {
    url = config.otlpProtocol === 'grpc' ? endpointUrl(config.otlpEndpoint) : signalUrl(config.otlpEndpoint, signal);
  } else return undefined;
  return {
    signal,
    protocol: config.otlpProtocol,
    url,
    headers: config.otlpHeaders === undefined ? {} : parseOtlpHeaders(config.otlpHeaders),
    compression: config.otlpCompression,
    timeoutMs: config.otlpTimeoutMs,
  };
}
