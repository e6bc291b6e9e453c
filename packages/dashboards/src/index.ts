export { overviewDashboard, OVERVIEW_UID } from './dashboards/overview';
export { workersDashboard, WORKERS_UID } from './dashboards/workers';
export { renderDashboards } from './render';
export type { RenderedDashboard } from './render';
export { METRICS, HISTOGRAMS } from './metrics';
export { renderRules, ruleGroups, RULES_PATH, THRESHOLDS_PATH } from './rules';
export type { AlertingRule, RecordingRule, RuleGroup } from './rules';
