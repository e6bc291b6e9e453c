import { HISTOGRAMS, METRICS } from '../src/metrics';
import { allDashboards, allExprs, asJson, queryPanels, valuesOfKey } from './dashboard-json';

const dashboards = allDashboards();
const CATALOGUE = new Set<string>(Object.values(METRICS));

/** Metric names a query reads, histogram series suffixes folded onto their base name. */
function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:http_server|wsgi)_[a-z_]+/g) ?? [];
  return names.map((name) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return HISTOGRAMS.includes(base) ? base : name;
  });
}

describe.each(dashboards)('dashboard %s', (_uid, dashboard) => {
  const panels = queryPanels(dashboard);

  it('takes its datasource from the $datasource variable everywhere (no hard-coded uid)', () => {
    const refs = valuesOfKey(asJson(dashboard), 'datasource').filter((v) => typeof v === 'object');
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('offers datasource, service and server variables', () => {
    const names = asJson(dashboard).templating.list.map((v) => v['name']);
    expect(names).toEqual(expect.arrayContaining(['datasource', 'service', 'server']));
  });

  it('gives every panel a description and at least one query', () => {
    for (const panel of panels) {
      expect({ title: panel.title, hasDescription: (panel.description ?? '').length > 0 }).toEqual({
        title: panel.title,
        hasDescription: true,
      });
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    }
  });

  it('filters every query on $service and $server', () => {
    for (const expr of allExprs(dashboard)) {
      expect(expr).toContain('service_name=~"$service"');
      expect(expr).toContain('server=~"$server"');
    }
  });

  it('reads only metrics from the catalogue', () => {
    const used = allExprs(dashboard).flatMap(metricNames);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !CATALOGUE.has(name))).toEqual([]);
  });

  it('has unique panel ids and panels that fit the grid without overlapping', () => {
    const all = asJson(dashboard).panels;
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
    const taken = new Set<string>();
    for (const { gridPos: g, title } of all) {
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const cell = `${x},${y}`;
          if (taken.has(cell)) throw new Error(`panel "${title}" overlaps another at ${cell}`);
          taken.add(cell);
        }
      }
    }
  });
});

describe('the dashboards together', () => {
  it('have distinct uids', () => {
    const uids = dashboards.map(([uid]) => uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it.each([
    ['utilization across the server', METRICS.workerBusyThreadSeconds, 'wsgiscope-overview'],
    ['latency heatmap', `${METRICS.requestDuration}_bucket`, 'wsgiscope-overview'],
    ['queue time', `${METRICS.queueDuration}_bucket`, 'wsgiscope-overview'],
    ['capacity per worker', METRICS.workerThreads, 'wsgiscope-workers'],
    ['phases', `${METRICS.phaseDuration}_bucket`, 'wsgiscope-workers'],
    ['CPU per worker', METRICS.workerCpuSeconds, 'wsgiscope-workers'],
    ['RSS per worker', METRICS.workerResidentMemory, 'wsgiscope-workers'],
    ['sampler lag', `${METRICS.workerSamplerLag}_bucket`, 'wsgiscope-workers'],
    ['shim drops', METRICS.shimDroppedRecords, 'wsgiscope-workers'],
    ['listen queue per socket', METRICS.listenQueue, 'wsgiscope-workers'],
  ])('show %s (%s on %s)', (_what, metric, uid) => {
    const dashboard = dashboards.find(([u]) => u === uid)?.[1];
    expect(dashboard).toBeDefined();
    expect(allExprs(dashboard!).some((expr) => expr.includes(`${metric}{`))).toBe(true);
  });

  it('the per-worker view filters per-worker series on $host and $worker', () => {
    const workers = dashboards.find(([u]) => u === 'wsgiscope-workers')![1];
    const perWorker = allExprs(workers).filter((e) => e.includes('wsgi_worker_') || e.includes('active_requests'));
    expect(perWorker.length).toBeGreaterThan(0);
    for (const expr of perWorker) {
      expect(expr).toContain('host=~"$host"');
      expect(expr).toContain('worker=~"$worker"');
    }
  });

  it('the per-worker view offers a host variable, and its workers follow the selected hosts', () => {
    const workers = dashboards.find(([u]) => u === 'wsgiscope-workers')![1];
    const list = asJson(workers).templating.list;
    expect(list.map((v) => v['name'])).toEqual(['datasource', 'service', 'server', 'host', 'worker']);
    const byName = new Map(list.map((v) => [v['name'], v]));
    expect(byName.get('host')?.['query']).toBe(`label_values(${METRICS.workerInfo}{service_name=~"$service", server=~"$server"}, host)`);
    expect(String(byName.get('worker')?.['query'])).toContain('host=~"$host"');
  });

  it('request histograms are never filtered on $host or $worker (they carry neither label)', () => {
    for (const [, dashboard] of dashboards) {
      for (const expr of allExprs(dashboard).filter((e) => HISTOGRAMS.some((h) => h !== METRICS.workerSamplerLag && e.includes(`${h}_`)))) {
        expect(expr).not.toContain('$host');
        expect(expr).not.toContain('$worker');
      }
    }
  });

  it('the overview breaks capacity, CPU, memory and workers down per host, and requests per collector', () => {
    const overview = dashboards.find(([u]) => u === 'wsgiscope-overview')![1];
    const exprs = allExprs(overview);
    const perHost = (metric: string): boolean =>
      exprs.some((e) => e.includes(`${metric}{`) && /\b(?:sum|count) by \(server, host\)/.test(e));
    for (const metric of [
      METRICS.workerBusyThreadSeconds, METRICS.workerThreads, METRICS.activeRequests,
      METRICS.workerCpuSeconds, METRICS.workerResidentMemory, METRICS.workerInfo,
    ]) {
      expect({ metric, perHost: perHost(metric) }).toEqual({ metric, perHost: true });
    }
    expect(exprs.some((e) => e.includes(`${METRICS.requestDuration}_count{`) && e.includes('sum by (server, instance)'))).toBe(true);
  });

  it('no query groups by a listening address without its host (0.0.0.0:8000 recurs on every host)', () => {
    for (const [, dashboard] of dashboards) {
      for (const expr of allExprs(dashboard)) {
        for (const by of expr.match(/by \(([^)]*)\)/g) ?? []) {
          if (by.includes('address')) expect(by).toContain('host');
        }
      }
    }
  });

  it('every panel is reachable: titles unique per dashboard', () => {
    for (const [, dashboard] of dashboards) {
      const titles = queryPanels(dashboard).map((p) => p.title);
      expect(new Set(titles).size).toBe(titles.length);
    }
  });
});
