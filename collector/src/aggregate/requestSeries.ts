/**
 * Request histograms of one label set (service_name, server, method, status[, route]).
 *
 * design: every request metric of one label set lives in ONE Float64Array, one block per
 * histogram (see buckets.ts), so counting a record touches one object and no Map. The
 * table maps labels to series through nested Maps keyed by the raw values, so the hot loop
 * never builds a string key.
 */
import type { HistogramLayout } from './buckets';
import { BODY_BYTES, DURATION_US, observe } from './buckets';

/** The request histograms, in storage order. */
export const REQUEST_HISTOGRAMS = [
  'duration',
  'request_body',
  'response_body',
  'queue',
  'phase_read_body',
  'phase_app',
  'phase_generate',
  'phase_first_byte',
  'phase_write',
  'cpu',
] as const;
export type RequestHistogram = (typeof REQUEST_HISTOGRAMS)[number];

const LAYOUTS: Record<RequestHistogram, HistogramLayout> = {
  duration: DURATION_US,
  request_body: BODY_BYTES,
  response_body: BODY_BYTES,
  queue: DURATION_US,
  phase_read_body: DURATION_US,
  phase_app: DURATION_US,
  phase_generate: DURATION_US,
  phase_first_byte: DURATION_US,
  phase_write: DURATION_US,
  cpu: DURATION_US,
};

const OFFSETS = {} as Record<RequestHistogram, number>;
let width = 0;
for (const name of REQUEST_HISTOGRAMS) {
  OFFSETS[name] = width;
  width += LAYOUTS[name].width;
}
const SERIES_WIDTH = width;

const D = OFFSETS.duration;
const RB = OFFSETS.request_body;
const WB = OFFSETS.response_body;
const Q = OFFSETS.queue;
const PR = OFFSETS.phase_read_body;
const PA = OFFSETS.phase_app;
const PG = OFFSETS.phase_generate;
const PF = OFFSETS.phase_first_byte;
const PW = OFFSETS.phase_write;
const C = OFFSETS.cpu;

/** Label value used for every non-service label of the overflow series. */
export const OVERFLOW_LABEL = '_overflow';

export interface RequestLabels {
  service_name: string;
  server: string;
  http_request_method: string;
  http_response_status_code: string;
  /** Present only when routes are enabled. */
  http_route?: string;
}

export class RequestSeries {
  readonly data = new Float64Array(SERIES_WIDTH);

  constructor(
    readonly labels: RequestLabels,
    /** True for the guard's `_overflow` series. */
    readonly isOverflow = false,
  ) {}

  /**
   * Count one request (raw wire values: microseconds, bytes; null = not measured). `generate`
   * is null for a protocol version 1 record, which has no body-generation phase.
   */
  add(
    duration: number,
    bytesIn: number,
    bytesOut: number,
    queue: number | null,
    read: number,
    app: number,
    generate: number | null,
    firstByte: number | null,
    write: number,
    cpu: number | null,
  ): void {
    const d = this.data;
    observe(d, D, DURATION_US, duration);
    observe(d, RB, BODY_BYTES, bytesIn);
    observe(d, WB, BODY_BYTES, bytesOut);
    if (queue !== null) observe(d, Q, DURATION_US, queue);
    observe(d, PR, DURATION_US, read);
    observe(d, PA, DURATION_US, app);
    if (generate !== null) observe(d, PG, DURATION_US, generate);
    if (firstByte !== null) observe(d, PF, DURATION_US, firstByte);
    observe(d, PW, DURATION_US, write);
    if (cpu !== null) observe(d, C, DURATION_US, cpu);
  }

  /**
   * Add request durations already counted into the duration histogram's buckets (another
   * source, e.g. OTLP): `buckets[b]` requests in bucket b (the last is +Inf), `sumUs` their
   * total in microseconds. The other histograms are not measured by such sources.
   */
  addDurations(buckets: ArrayLike<number>, sumUs: number): void {
    const d = this.data;
    const n = DURATION_US.bounds.length;
    for (let b = 0; b <= n; b++) d[D + b]! += buckets[b] ?? 0;
    d[D + n + 1]! += sumUs;
  }

  offsetOf(histogram: RequestHistogram): number {
    return OFFSETS[histogram];
  }

  layoutOf(histogram: RequestHistogram): HistogramLayout {
    return LAYOUTS[histogram];
  }
}

type ByRoute = Map<string | null, RequestSeries>;
type ByStatus = Map<number, ByRoute>;
type ByMethod = Map<string, ByStatus>;

/** One (service_name, server) pair's series. */
export interface ServiceGroup {
  readonly byMethod: ByMethod;
  overflow: RequestSeries | undefined;
  readonly service: string;
  readonly server: string;
}

/**
 * All request series, with the cardinality guard: once `maxSeries` label sets exist, records
 * with a new label set are counted into their service's `_overflow` series instead, and records
 * of a service first seen after that into the `_overflow` service's. Refused label sets are not
 * remembered, so a flood of new routes or services cannot grow memory either.
 */
export class RequestTable {
  private readonly groups = new Map<string, Map<string, ServiceGroup>>();
  private readonly all: RequestSeries[] = [];
  private guarded = 0;

  constructor(
    private readonly maxSeries: number,
    private readonly routesEnabled: boolean,
  ) {}

  group(service: string, server: string): ServiceGroup {
    const group = this.groups.get(service)?.get(server);
    if (group !== undefined) return group;
    // Once the guard is full a new service's records could only go to an overflow series of its
    // own: one per invented service_name is unbounded, so they share the `_overflow` service.
    if (this.guarded >= this.maxSeries) return this.newGroup(OVERFLOW_LABEL, OVERFLOW_LABEL);
    return this.newGroup(service, server);
  }

  private newGroup(service: string, server: string): ServiceGroup {
    let byServer = this.groups.get(service);
    if (byServer === undefined) {
      byServer = new Map();
      this.groups.set(service, byServer);
    }
    let group = byServer.get(server);
    if (group === undefined) {
      group = { byMethod: new Map(), overflow: undefined, service, server };
      byServer.set(server, group);
    }
    return group;
  }

  /** The series for one record's labels; `method` must already be normalised. */
  lookup(group: ServiceGroup, method: string, status: number, rawRoute: string | null): RequestSeries {
    const route = this.routesEnabled ? rawRoute : null;
    let byStatus = group.byMethod.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      group.byMethod.set(method, byStatus);
    }
    let byRoute = byStatus.get(status);
    if (byRoute === undefined) {
      byRoute = new Map();
      byStatus.set(status, byRoute);
    }
    const found = byRoute.get(route);
    if (found !== undefined) return found;
    if (this.guarded >= this.maxSeries) return this.overflowSeries(group);
    const labels: RequestLabels = {
      service_name: group.service,
      server: group.server,
      http_request_method: method,
      http_response_status_code: String(status),
    };
    // a record without a route has no http_route label (in Prometheus, the same as empty)
    if (this.routesEnabled && route !== null) labels.http_route = route;
    const series = this.register(labels, false);
    this.guarded++;
    byRoute.set(route, series);
    return series;
  }

  private overflowSeries(group: ServiceGroup): RequestSeries {
    if (group.overflow === undefined) {
      const labels: RequestLabels = {
        service_name: group.service,
        server: group.server,
        http_request_method: OVERFLOW_LABEL,
        http_response_status_code: OVERFLOW_LABEL,
      };
      if (this.routesEnabled) labels.http_route = OVERFLOW_LABEL;
      group.overflow = this.register(labels, true);
    }
    return group.overflow;
  }

  private register(labels: RequestLabels, isOverflow: boolean): RequestSeries {
    const series = new RequestSeries(labels, isOverflow);
    this.all.push(series);
    return series;
  }

  /** Every series, overflow ones included, in creation order. */
  series(): readonly RequestSeries[] {
    return this.all;
  }
}
