/** The OTLP ingest flags: gRPC off by default and loopback unless told otherwise. */
import { startCollector } from '../../src/collector';
import { ConfigError, defaults, helpText, parseConfig } from '../../src/config';

describe('OTLP ingest configuration', () => {
  test('gRPC is off by default and binds loopback', () => {
    expect(defaults().otlpGrpcPort).toBeUndefined();
    expect(defaults().otlpGrpcHost).toBe('127.0.0.1');
    expect(helpText()).toMatch(/--otlp-grpc-port VALUE\s+also receive OTLP over gRPC/);
  });

  test('flags, environment and refusals', () => {
    const config = (argv: string[], env: NodeJS.ProcessEnv) => {
      const parsed = parseConfig(argv, env);
      if (parsed.help) throw new Error('help');
      return parsed.config;
    };
    const flags = config(['--otlp-grpc-port', '4317', '--otlp-grpc-host=0.0.0.0'], {});
    expect([flags.otlpGrpcPort, flags.otlpGrpcHost]).toEqual([4317, '0.0.0.0']);
    expect(config([], { WSGISCOPE_COLLECTOR_OTLP_GRPC_PORT: '0' }).otlpGrpcPort).toBe(0);
    expect(() => parseConfig(['--otlp-grpc-port', '70000'], {})).toThrow(ConfigError);
  });

  test('a collector started with the defaults serves OTLP/HTTP and no gRPC', async () => {
    const running = await startCollector({ ...defaults(), port: 0 });
    try {
      expect(running.otlpGrpcPort).toBeUndefined();
      const answer = await fetch(`${running.url}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      expect([answer.status, await answer.text()]).toEqual([200, '{}']);
    } finally {
      await running.close();
    }
  });
});
