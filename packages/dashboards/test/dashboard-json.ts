/** Test helpers that walk generated dashboard JSON the way Grafana reads it. */
import type { DashboardModel as Dashboard } from '../src/schema';
import { overviewDashboard } from '../src/dashboards/overview';
import { workersDashboard } from '../src/dashboards/workers';

export interface PanelJson {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Array<{ expr: string; datasource?: { type?: string; uid?: string } }>;
}

export function allDashboards(): Array<[string, Dashboard]> {
  return [overviewDashboard(), workersDashboard()].map((d) => [d.uid ?? '?', d]);
}

/** A plain-JSON view of the dashboard, as it is written to disk. */
export interface DashboardJson {
  panels: PanelJson[];
  templating: { list: Array<Record<string, unknown>> };
}

export function asJson(dashboard: Dashboard): DashboardJson {
  return JSON.parse(JSON.stringify(dashboard)) as DashboardJson;
}

export function queryPanels(dashboard: Dashboard): PanelJson[] {
  return asJson(dashboard).panels.filter((p) => p.type !== 'row');
}

export function allExprs(dashboard: Dashboard): string[] {
  return queryPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** Every value stored under a given key anywhere in the JSON tree. */
export function valuesOfKey(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((item) => valuesOfKey(item, key));
  if (node !== null && typeof node === 'object') {
    return Object.entries(node).flatMap(([k, v]: [string, unknown]) => [...(k === key ? [v] : []), ...valuesOfKey(v, key)]);
  }
  return [];
}
