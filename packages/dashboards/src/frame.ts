/**
 * What every wsgiscope dashboard shares: tags, time settings, links between
 * the dashboards (keeping the time range and variables), stable panel ids.
 */
import { DashboardCursorSync, DashboardLinkBuilder, DashboardLinkType } from '@grafana/grafana-foundation-sdk/dashboard';
import { ClassicDashboardBuilder } from './schema';
import type { DashboardModel } from './schema';

export const TAG = 'wsgiscope';

export function dashboardFrame(uid: string, title: string, description: string): ClassicDashboardBuilder {
  return new ClassicDashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([TAG, 'wsgi', 'python'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-15m', to: 'now' })
    .refresh('10s')
    .timezone('browser')
    .link(
      new DashboardLinkBuilder('wsgiscope dashboards')
        .type(DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(false)
        .includeVars(true)
        .keepTime(true)
        .targetBlank(false),
    );
}

/** Numbers panels 1..n in layout order so the JSON is stable and ids are unique. */
export function finish(builder: ClassicDashboardBuilder): DashboardModel {
  const dashboard = builder.build();
  (dashboard.panels ?? []).forEach((panel, index) => {
    panel.id = index + 1;
  });
  return dashboard;
}
