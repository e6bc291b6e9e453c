/**
 * Renders every dashboard to the exact text committed under grafana/dashboards/.
 * Pure: the generator writes these strings, the staleness test compares them.
 */
import { overviewDashboard } from './dashboards/overview';
import { workersDashboard } from './dashboards/workers';

export interface RenderedDashboard {
  readonly fileName: string;
  readonly json: string;
}

export function renderDashboards(): RenderedDashboard[] {
  return [overviewDashboard(), workersDashboard()].map((dashboard) => ({
    fileName: `${dashboard.uid ?? 'unnamed'}.json`,
    json: `${JSON.stringify(dashboard, null, 2)}\n`,
  }));
}
