import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { METRICS } from '../src/metrics';
import type { AlertingRule, RecordingRule } from '../src/rules';
import { RULES_PATH, THRESHOLDS_PATH, loadRuleThresholds, renderRules, ruleGroups } from '../src/rules';

const REGENERATE = 'run `npm run -w packages/dashboards generate` and commit prometheus/rules/';
const FINDING_IDS = [
  'capacity_exhausted', 'slow_clients', 'gil_contention', 'cpu_saturated', 'long_requests_block_short', 'blocking_io',
  'event_loop_blocked', 'stuck_requests', 'memory_growth', 'shim_drops', 'unknown_capacity',
];

const groups = ruleGroups();
const alerts = groups.flatMap((g) => g.rules).filter((r): r is AlertingRule => 'alert' in r);
const records = groups.flatMap((g) => g.rules).filter((r): r is RecordingRule => 'record' in r);

describe('prometheus/rules/wsgiscope.rules.yml', () => {
  it('matches the generator output (not stale)', () => {
    if (readFileSync(RULES_PATH, 'utf8') !== renderRules()) throw new Error(`prometheus/rules/wsgiscope.rules.yml is stale: ${REGENERATE}`);
  });

  it('is YAML holding the generated groups', () => {
    const parsed = parse(readFileSync(RULES_PATH, 'utf8')) as { groups: { name: string; rules: Record<string, unknown>[] }[] };
    expect(parsed.groups.map((g) => g.name)).toEqual(['wsgiscope.recording', 'wsgiscope.alerts']);
    expect(parsed.groups.flatMap((g) => g.rules).map((r) => r['expr'])).toEqual(groups.flatMap((g) => g.rules).map((r) => r.expr));
  });

  it('has an alert for every finding id of docs/diagnosis.md, named Wsgiscope + CamelCase id', () => {
    expect([...new Set(alerts.map((a) => a.labels.finding_id))].sort()).toEqual([...FINDING_IDS].sort());
    for (const a of alerts) {
      const camel = a.labels.finding_id.split('_').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
      expect(a.alert.startsWith(`Wsgiscope${camel}`)).toBe(true);
      expect(['info', 'warning', 'critical']).toContain(a.labels.severity);
      expect(a.annotations.summary.length).toBeGreaterThan(0);
      expect(a.annotations.description).toContain(`docs/diagnosis.md, finding ${a.labels.finding_id}`);
    }
  });

  it('records utilization, queue time and phase shares per service and server', () => {
    const names = records.map((r) => r.record);
    expect(names).toEqual(expect.arrayContaining([
      'wsgiscope:utilization:ratio_rate1m', 'wsgiscope:queue_duration_seconds:mean_rate1m', 'wsgiscope:request_phase_share:ratio_rate1m',
    ]));
    for (const r of records) expect(r.record).toMatch(/^wsgiscope:[a-z_0-9]+:[a-z_0-9]+$/);
    // Per service and server: aggregated by those labels, or built from records that are.
    for (const r of records) if (!r.record.startsWith('wsgiscope:worker_')) expect(r.expr).toMatch(/by \((le, )?service_name, server|^wsgiscope:/);
  });

  it('reads only catalogue metrics (and the schedstat counters) besides its own records', () => {
    const known = new Set<string>([...Object.values(METRICS), 'wsgi_worker_sched_run_seconds_total', 'wsgi_worker_sched_wait_seconds_total']);
    for (const rule of [...records, ...alerts]) {
      for (const name of rule.expr.match(/\b(?:http_server|wsgi)_[a-z_]+/g) ?? []) {
        expect({ name, known: known.has(name) || known.has(name.replace(/_(bucket|sum|count)$/, '')) }).toEqual({ name, known: true });
      }
    }
  });

  it('takes every threshold from the diagnosis thresholds file', () => {
    expect(THRESHOLDS_PATH.endsWith('collector/src/diagnosis/thresholds.json')).toBe(true);
    const t = loadRuleThresholds();
    const changed = structuredClone(t);
    changed.gil_contention.busy_threads = 2.75;
    changed.stuck_requests.oldest_request_age_seconds = 45;
    const text = renderRules(ruleGroups(changed));
    expect(text).toContain('wsgiscope:worker_busy_threads:rate1m >= 2.75');
    expect(text).toContain('wsgi_worker_oldest_request_age_seconds) >= 45');
    expect(renderRules(ruleGroups(t))).toContain(`wsgi_worker_oldest_request_age_seconds) >= ${String(t.stuck_requests.oldest_request_age_seconds)}`);
  });
});
