/**
 * Panel helpers: every panel reads the `$datasource` variable, carries a
 * description saying which question it answers, and is sized on a 24-column grid.
 */
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  HeatmapColorMode,
  HeatmapColorOptionsBuilder,
  PanelBuilder as HeatmapPanelBuilder,
  YAxisConfigBuilder,
} from '@grafana/grafana-foundation-sdk/heatmap';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import {
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { DATASOURCE } from './variables';

export interface Query {
  readonly expr: string;
  readonly legend: string;
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly queries: readonly Query[];
  /** grid columns out of 24 */
  readonly width: number;
  readonly height?: number;
  readonly min?: number;
  readonly max?: number;
}

const DEFAULT_HEIGHT = 8;
const REF_IDS = 'ABCDEFGHIJ';

function target(query: Query, index: number): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(query.expr)
    .legendFormat(query.legend)
    .range()
    .refId(REF_IDS.charAt(index));
}

function legend(): VizLegendOptionsBuilder {
  return new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.Table)
    .placement(LegendPlacement.Bottom)
    .calcs(['mean', 'max', 'lastNotNull']);
}

/** A time series panel, one line per server (or worker) and query. */
export function timeseries(spec: PanelSpec): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.width)
    .height(spec.height ?? DEFAULT_HEIGHT)
    .lineWidth(1)
    .fillOpacity(10)
    .legend(legend())
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .targets(spec.queries.map(target));
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return panel;
}

/**
 * A heatmap of a classic histogram: the query sums `_bucket` rates by `le`
 * and Grafana draws the buckets as they are (no re-bucketing).
 */
export function heatmap(spec: Omit<PanelSpec, 'queries'> & { readonly bucketsExpr: string }): HeatmapPanelBuilder {
  const query = new DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(spec.bucketsExpr)
    .legendFormat('{{le}}')
    .format(PromQueryFormat.Heatmap)
    .range()
    .refId('A');
  return new HeatmapPanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .span(spec.width)
    .height(spec.height ?? DEFAULT_HEIGHT)
    .calculate(false)
    .color(new HeatmapColorOptionsBuilder().mode(HeatmapColorMode.Scheme).scheme('Spectral').steps(64).exponent(0.5))
    .yAxis(new YAxisConfigBuilder().unit(spec.unit))
    .showLegend()
    .withTarget(query);
}

/** An instant table, e.g. one row per worker with its info labels. */
export function table(spec: PanelSpec): TablePanelBuilder {
  return new TablePanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .span(spec.width)
    .height(spec.height ?? DEFAULT_HEIGHT)
    .targets(
      spec.queries.map((query, index) =>
        new DataqueryBuilder()
          .datasource(DATASOURCE)
          .expr(query.expr)
          .legendFormat(query.legend)
          .format(PromQueryFormat.Table)
          .instant()
          .refId(REF_IDS.charAt(index)),
      ),
    );
}
