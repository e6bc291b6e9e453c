import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaults, helpText, parseConfig } from '../src/config';

function configOf(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseConfig(argv, env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
}

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsgiscope-config-'));
  const path = join(dir, 'collector.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('parseConfig', () => {
  it('uses the documented defaults', () => {
    expect(configOf([])).toEqual(defaults());
    expect(defaults()).toMatchObject({ port: 9464, host: '127.0.0.1', workerExpirySeconds: 60, routes: true, token: undefined, readToken: undefined });
  });

  it.each<[string[], Record<string, unknown>]>([
    [['--port', '0'], { port: 0 }],
    [['--port=1234'], { port: 1234 }],
    [['--host', '0.0.0.0'], { host: '0.0.0.0' }],
    [['--worker-expiry-seconds', '2.5'], { workerExpirySeconds: 2.5 }],
    [['--token', 'abc'], { token: 'abc' }],
    [['--read-token', 'r'], { readToken: 'r' }],
    [['--max-body-bytes', '2048'], { maxBodyBytes: 2048 }],
    [['--max-series-per-metric', '10'], { maxSeriesPerMetric: 10 }],
    [['--rate-limit-batches-per-second', '5'], { rateLimitBatchesPerSecond: 5 }],
    [['--routes'], { routes: true }],
    [['--routes=false'], { routes: false }],
  ])('reads flags %j', (argv, expected) => {
    expect(configOf(argv)).toMatchObject(expected);
  });

  it.each<[string[], RegExp]>([
    [['--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['--port'], /--port needs a value/],
    [['--worker-expiry-seconds', '0'], /positive number/],
    [['--bogus'], /unknown option --bogus/],
    [['--routes=maybe'], /true or false/],
  ])('refuses %j with a sentence', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(message);
    expect(() => parseConfig(argv, {})).toThrow(ConfigError);
  });

  it('lets flags beat environment variables, which beat the config file', () => {
    const file = configFile({ port: 1, host: '10.0.0.1', maxSeriesPerMetric: 7 });
    const env = { WSGISCOPE_COLLECTOR_PORT: '2', WSGISCOPE_COLLECTOR_HOST: '10.0.0.2' };
    expect(configOf(['--config', file, '--port', '3'], env)).toMatchObject({ port: 3, host: '10.0.0.2', maxSeriesPerMetric: 7 });
  });

  it('reads the config file named by WSGISCOPE_COLLECTOR_CONFIG', () => {
    const file = configFile({ routes: true });
    expect(configOf([], { WSGISCOPE_COLLECTOR_CONFIG: file }).routes).toBe(true);
  });

  it('refuses an unknown key in the config file', () => {
    const file = configFile({ prot: 1 });
    expect(() => parseConfig(['--config', file], {})).toThrow(/unknown key "prot"/);
  });

  describe('a name that now carries its unit (--otlp-max-queued-requests, was --otlp-queue-size)', () => {
    it.each<[string, string[], NodeJS.ProcessEnv, Record<string, unknown>]>([
      ['the new flag', ['--otlp-max-queued-requests', '3'], {}, {}],
      ['the old flag', ['--otlp-queue-size', '3'], {}, {}],
      ['the new variable', [], { WSGISCOPE_COLLECTOR_OTLP_MAX_QUEUED_REQUESTS: '3' }, {}],
      ['the old variable', [], { WSGISCOPE_COLLECTOR_OTLP_QUEUE_SIZE: '3' }, {}],
      ['the new config key', [], {}, { otlpMaxQueuedRequests: 3 }],
      ['the old config key', [], {}, { otlpQueueSize: 3 }],
    ])('reads %s', (_, argv, env, file) => {
      const withFile = Object.keys(file).length === 0 ? argv : ['--config', configFile(file), ...argv];
      expect(configOf(withFile, env).otlpMaxQueuedRequests).toBe(3);
    });

    it.each<[string, string[], NodeJS.ProcessEnv, Record<string, unknown>]>([
      ['flags, new first', ['--otlp-max-queued-requests', '3', '--otlp-queue-size', '9'], {}, {}],
      ['flags, old first', ['--otlp-queue-size', '9', '--otlp-max-queued-requests', '3'], {}, {}],
      ['variables', [], { WSGISCOPE_COLLECTOR_OTLP_QUEUE_SIZE: '9', WSGISCOPE_COLLECTOR_OTLP_MAX_QUEUED_REQUESTS: '3' }, {}],
      ['config keys', [], {}, { otlpQueueSize: 9, otlpMaxQueuedRequests: 3 }],
    ])('lets the new name win over the old one: %s', (_, argv, env, file) => {
      const withFile = Object.keys(file).length === 0 ? argv : ['--config', configFile(file), ...argv];
      expect(configOf(withFile, env).otlpMaxQueuedRequests).toBe(3);
    });

    it('names the old flag or variable in its error', () => {
      expect(() => parseConfig(['--otlp-queue-size', '0'], {})).toThrow(/--otlp-queue-size must be an integer/);
      expect(() => parseConfig([], { WSGISCOPE_COLLECTOR_OTLP_QUEUE_SIZE: 'x' })).toThrow(/WSGISCOPE_COLLECTOR_OTLP_QUEUE_SIZE must be/);
    });

    it('lists the new names with the old ones in --help', () => {
      const line = helpText().split('\n').find((l) => l.includes('--otlp-max-queued-requests')) ?? '';
      expect(line).toContain('WSGISCOPE_COLLECTOR_OTLP_MAX_QUEUED_REQUESTS');
      expect(line).toContain('old names: --otlp-queue-size, WSGISCOPE_COLLECTOR_OTLP_QUEUE_SIZE, "otlpQueueSize"');
    });
  });

  it('names the unit of every time and size option', () => {
    const flags = helpText().split('\n').map((l) => l.trim().split(' ')[0] ?? '');
    const measured = flags.filter((f) => /interval|timeout|expiry|bytes|body|queue/.test(f));
    expect(measured.length).toBeGreaterThanOrEqual(5);
    for (const flag of measured) expect(flag).toMatch(/-(seconds|ms|bytes|requests|per-second)$/);
  });

  it('answers --help', () => {
    expect(parseConfig(['--port', '1', '--help'], {})).toEqual({ help: true });
    expect(helpText()).toContain('--worker-expiry-seconds');
    expect(helpText()).toContain('WSGISCOPE_COLLECTOR_TOKEN');
  });
});
