/**
 * Where the OTLP export goes: the standard OTEL_EXPORTER_OTLP_* variables and the collector's
 * own flags/variables, their precedence, the specification's endpoint rules, and the headers list.
 */
import { ConfigError, helpText, parseConfig } from '../../../src/config';
import { endpointUrl, exportTarget, parseKeyValues, parseOtlpHeaders, signalUrl } from '../../../src/otlp/export/endpoint';

function configOf(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseConfig(argv, env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
}

describe('OTLP export configuration', () => {
  it('is off by default, with the specification defaults otherwise', () => {
    const config = configOf([]);
    expect(exportTarget(config, 'metrics')).toBeUndefined();
    expect(exportTarget(config, 'traces')).toBeUndefined();
    expect(config).toMatchObject({ otlpProtocol: 'http/protobuf', otlpCompression: 'none', otlpTimeoutMs: 10_000, otlpExportIntervalMs: 60_000 });
  });

  it('reads the standard variables', () => {
    const config = configOf([], {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://gateway:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc, x-tenant = t1',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_METRIC_EXPORT_INTERVAL: '15000',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod',
    });
    expect(exportTarget(config, 'metrics')).toEqual({
      signal: 'metrics',
      protocol: 'http/json',
      url: new URL('http://gateway:4318/v1/metrics'),
      headers: { authorization: 'Bearer abc', 'x-tenant': 't1' },
      compression: 'gzip',
      timeoutMs: 2500,
    });
    expect(exportTarget(config, 'traces')!.url.href).toBe('http://gateway:4318/v1/traces');
    expect(config.otlpExportIntervalMs).toBe(15_000);
    expect(config.otlpResourceAttributes).toBe('deployment.environment.name=prod');
  });

  it('uses a signal endpoint as it is, and lets WSGISCOPE_COLLECTOR_* and flags beat the standard variables', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://b:9999/custom/path',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      WSGISCOPE_COLLECTOR_OTLP_EXPORT_INTERVAL_MS: '2000',
    };
    const config = configOf([], env);
    expect(exportTarget(config, 'metrics')!.url.href).toBe('http://b:9999/custom/path');
    expect(exportTarget(config, 'traces')!.url.href).toBe('http://a:4318/v1/traces');
    expect(config.otlpExportIntervalMs).toBe(2000);
    const flagged = configOf(['--otlp-metrics-endpoint', 'http://c/x', '--otlp-export-interval-ms=3000', '--otlp-protocol', 'grpc'], env);
    expect(exportTarget(flagged, 'metrics')!.url.href).toBe('http://c/x');
    expect(flagged).toMatchObject({ otlpExportIntervalMs: 3000, otlpProtocol: 'grpc' });
  });

  it('takes host:port for gRPC and does not append a path', () => {
    const config = configOf(['--otlp-endpoint', 'collector:4317', '--otlp-protocol', 'grpc']);
    const target = exportTarget(config, 'metrics')!;
    expect(target.url.host).toBe('collector:4317');
    expect(target.url.pathname).toBe('/');
  });

  it.each<[NodeJS.ProcessEnv, RegExp]>([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, /OTEL_EXPORTER_OTLP_PROTOCOL must be one of http\/protobuf, http\/json, grpc/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }, /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, /OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs/],
    [{ OTEL_METRIC_EXPORT_INTERVAL: '10' }, /OTEL_METRIC_EXPORT_INTERVAL must be an integer from 100/],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }, /must be one of none, gzip/],
  ])('refuses %j with a sentence', (env, message) => {
    expect(() => parseConfig([], env)).toThrow(message);
    expect(() => parseConfig([], env)).toThrow(ConfigError);
  });

  it('lists the flags and the standard variables in --help', () => {
    const help = helpText();
    for (const text of ['--otlp-endpoint', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_METRIC_EXPORT_INTERVAL']) {
      expect(help).toContain(text);
    }
  });
});

describe('endpoint helpers', () => {
  it('appends v1/<signal> to the base path, once', () => {
    expect(signalUrl('http://h:4318', 'metrics').href).toBe('http://h:4318/v1/metrics');
    expect(signalUrl('http://h:4318/', 'metrics').href).toBe('http://h:4318/v1/metrics');
    expect(signalUrl('https://h/otlp/', 'traces').href).toBe('https://h/otlp/v1/traces');
    expect(endpointUrl('localhost:4317').href).toBe('http://localhost:4317/');
  });

  it('parses headers and resource attributes', () => {
    expect(parseOtlpHeaders('A=1,b=x%2Cy,,')).toEqual({ a: '1', b: 'x,y' });
    expect(parseKeyValues('Service.Name=x')).toEqual({ 'Service.Name': 'x' });
    expect(() => parseKeyValues('=x')).toThrow(/not key=value/);
    expect(() => parseKeyValues('k=%E0%A4%A')).toThrow(/percent-encoding/);
  });
});
