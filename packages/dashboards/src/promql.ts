/**
 * Small PromQL builders. Every query filters on the dashboard variables
 * `$service` and `$server` (and `$host`, `$worker` on the per-worker view) so panels
 * compare servers side by side, one series per server.
 */

/** The rate window Grafana picks from the scrape interval and the zoom. */
export const RATE_WINDOW = '$__rate_interval';

export interface Scope {
  /** Label matchers added to every selector, e.g. `worker=~"$worker"`. */
  readonly matchers: readonly string[];
}

export const SERVICE_SCOPE: Scope = {
  matchers: ['service_name=~"$service"', 'server=~"$server"'],
};

/**
 * Per-worker series (label `host`, the shim's host or WSGISCOPE_HOST, and `worker`, host:pid).
 * Request histograms have no host label: they keep SERVICE_SCOPE.
 */
export const WORKER_SCOPE: Scope = {
  matchers: [...SERVICE_SCOPE.matchers, 'host=~"$host"', 'worker=~"$worker"'],
};

/** `metric{scope matchers, extra matchers}` */
export function selector(metric: string, scope: Scope, extra: readonly string[] = []): string {
  return `${metric}{${[...scope.matchers, ...extra].join(', ')}}`;
}

/** `sum by (labels) (rate(metric{…}[$__rate_interval]))` */
export function sumRate(metric: string, by: readonly string[], scope: Scope, extra: readonly string[] = []): string {
  return `sum by (${by.join(', ')}) (rate(${selector(metric, scope, extra)}[${RATE_WINDOW}]))`;
}

/** `histogram_quantile(q, sum by (le, labels) (rate(histogram_bucket{…}[…])))` */
export function quantile(q: number, histogram: string, by: readonly string[], scope: Scope): string {
  return `histogram_quantile(${q}, ${sumRate(`${histogram}_bucket`, ['le', ...by], scope)})`;
}

/** Mean of a histogram's observations over the window: rate(_sum) / rate(_count). */
export function mean(histogram: string, by: readonly string[], scope: Scope): string {
  return `${sumRate(`${histogram}_sum`, by, scope)} / ${sumRate(`${histogram}_count`, by, scope)}`;
}
