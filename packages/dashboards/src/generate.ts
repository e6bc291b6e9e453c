/**
 * `npm run -w packages/dashboards generate`: writes grafana/dashboards/*.json
 * and removes stale files this generator wrote before; writes the Prometheus rules
 * (prometheus/rules/wsgiscope.rules.yml) from the diagnosis thresholds.
 */
import { readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { renderDashboards } from './render';
import { RULES_PATH, renderRules } from './rules';

export const DASHBOARDS_DIR = resolve(__dirname, '..', '..', '..', 'grafana', 'dashboards');

function main(): void {
  mkdirSync(DASHBOARDS_DIR, { recursive: true });
  const rendered = renderDashboards();
  const wanted = new Set(rendered.map((d) => d.fileName));
  for (const name of readdirSync(DASHBOARDS_DIR)) {
    if (name.startsWith('wsgiscope-') && name.endsWith('.json') && !wanted.has(name)) {
      rmSync(join(DASHBOARDS_DIR, name));
    }
  }
  for (const { fileName, json } of rendered) {
    writeFileSync(join(DASHBOARDS_DIR, fileName), json);
    process.stdout.write(`wrote ${join(DASHBOARDS_DIR, fileName)}\n`);
  }
  mkdirSync(dirname(RULES_PATH), { recursive: true });
  writeFileSync(RULES_PATH, renderRules());
  process.stdout.write(`wrote ${RULES_PATH}\n`);
}

if (require.main === module) {
  main();
}
