import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderDashboards } from '../src/render';

const DASHBOARDS_DIR = resolve(__dirname, '..', '..', '..', 'grafana', 'dashboards');
const REGENERATE = 'run `npm run -w packages/dashboards generate` and commit grafana/dashboards/';

describe('committed dashboards', () => {
  const rendered = renderDashboards();

  it('are exactly the set the generator produces', () => {
    const committed = readdirSync(DASHBOARDS_DIR).filter((name) => name.endsWith('.json')).sort();
    expect({ files: committed, hint: REGENERATE }).toEqual({
      files: rendered.map((d) => d.fileName).sort(),
      hint: REGENERATE,
    });
  });

  it.each(rendered.map((d) => [d.fileName, d.json]))('%s matches the generator output', (fileName, json) => {
    const committed = readFileSync(join(DASHBOARDS_DIR, fileName), 'utf8');
    if (committed !== json) {
      throw new Error(`grafana/dashboards/${fileName} is stale: ${REGENERATE}`);
    }
  });
});
