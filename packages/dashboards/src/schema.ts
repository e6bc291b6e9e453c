/**
 * design: the dashboards use the classic dashboard JSON model (schemaVersion 4x), which the
 * SDK marks deprecated in favour of `dashboardv2`. v2 is a Kubernetes-style resource only
 * Grafana 12+ with new feature toggles reads; the classic model is what grafana.com import,
 * file provisioning and every Grafana in use accept. This module is the one place that names
 * the deprecated v1 API; everything else uses these aliases.
 */
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

/* eslint-disable @typescript-eslint/no-deprecated -- deliberate, see the design note above */
export type DashboardModel = Dashboard;
export const ClassicDashboardBuilder = DashboardBuilder;
export type ClassicDashboardBuilder = DashboardBuilder;
/* eslint-enable @typescript-eslint/no-deprecated */
