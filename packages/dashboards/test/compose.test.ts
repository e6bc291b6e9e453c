/**
 * docker-compose.yml cannot be run here (no Docker), so it is checked against
 * the Compose Specification's JSON Schema (the copy dclint ships) and for the
 * promises the lab makes: pinned images, files that exist, wiring that matches.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';

const REPO = resolve(__dirname, '..', '..', '..');
const read = (path: string): string => readFileSync(join(REPO, path), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  ports?: string[];
  volumes?: string[];
}
interface Compose {
  services: Record<string, Service>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const services = Object.entries(compose.services);

function composeValidator(): (doc: unknown) => string[] {
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
  // validateSchema: the schema names its draft-07 meta-schema by an https URI ajv does not register.
  const validate = new Ajv({ strict: false, allErrors: true, validateSchema: false }).compile(schema);
  return (doc) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`));
}

describe('docker-compose.yml', () => {
  const validate = composeValidator();

  it('is valid against the Compose Specification schema', () => {
    expect(validate(compose)).toEqual([]);
  });

  it.each([
    ['an unknown service key', (c: Compose) => Object.assign(c.services['app']!, { imagee: 'x' })],
    ['ports that are not a list', (c: Compose) => Object.assign(c.services['grafana']!, { ports: 3000 })],
    ['an unknown depends_on condition', (c: Compose) =>
      Object.assign(c.services['app']!, { depends_on: { collector: { condition: 'service_ready' } } })],
  ])('would be rejected by the schema with %s', (_what, mutate) => {
    const broken = structuredClone(compose);
    mutate(broken);
    expect(validate(broken)).not.toEqual([]);
  });

  it('brings up prometheus, grafana, the collector and the instrumented app', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'collector', 'grafana', 'prometheus']);
  });

  it.each(services)('pins the image of %s to an exact version', (_name, service) => {
    expect(service.image).toMatch(/:v?\d+\.\d+\.\d+$/);
  });

  it.each(services)('publishes %s on 127.0.0.1 only', (_name, service) => {
    for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
  });

  it.each(services)('mounts only files that exist in the repository (%s)', (_name, service) => {
    const binds = (service.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => v.split(':')[0]!);
    for (const path of binds) expect({ path, exists: existsSync(join(REPO, path)) }).toEqual({ path, exists: true });
  });

  it.each(services.filter(([, s]) => s.build !== undefined))('builds %s from a Dockerfile with pinned base images', (_name, service) => {
    const dockerfile = read(join(service.build!.context, service.build!.dockerfile));
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!).filter((b) => b.includes(':'));
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/:\d+\.\d+\.\d+-/);
  });

  it('has Prometheus scrape the collector at the port the collector listens on', () => {
    const prometheus = parse(read('prometheus/prometheus.yml')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    const command = compose.services['collector']!.command!;
    const port = command[command.indexOf('--port') + 1];
    expect(targets).toContain(`collector:${port}`);
    expect(command[command.indexOf('--host') + 1]).toBe('0.0.0.0');
  });

  it('mounts the generated Prometheus rules where prometheus.yml names them', () => {
    const prometheus = parse(read('prometheus/prometheus.yml')) as { rule_files?: string[] };
    const ruleFiles = prometheus.rule_files ?? [];
    expect(ruleFiles).toEqual(['rules/wsgiscope.rules.yml']);
    const volumes = compose.services['prometheus']!.volumes!;
    const config = volumes.find((v) => v.startsWith('./prometheus/prometheus.yml:'))!.split(':')[1]!;
    for (const file of ruleFiles) {
      const inContainer = join(dirname(config), file);
      const mount = volumes.map((v) => v.split(':')).find(([, target]) => inContainer.startsWith(`${target!}/`));
      expect({ file, mounted: mount !== undefined }).toEqual({ file, mounted: true });
      const local = join(mount![0]!, inContainer.slice(mount![1]!.length + 1));
      expect({ local, exists: existsSync(join(REPO, local)) }).toEqual({ local, exists: true });
    }
  });

  it('has Grafana provisioned with the compose Prometheus and the generated dashboards', () => {
    const datasources = parse(read('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ type: string; url: string }>;
    };
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' })]);
    const providers = parse(read('grafana/provisioning/dashboards/wsgiscope.yml')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const mounted = compose.services['grafana']!.volumes!.find((v) => v.startsWith('./grafana/dashboards:'))!;
    expect(mounted.split(':')[1]).toBe(providers.providers[0]!.options.path);
  });
});
