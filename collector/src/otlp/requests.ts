/**
 * OTLP requests → the shim's request families. HTTP server duration histograms
 * (`http.server.request.duration` in s, `http.server.duration` in ms) and SERVER spans with
 * HTTP attributes are counted into the aggregator's request series by the resource's
 * service.name and `server` (resource.ts) and the point's or span's method, status and route.
 *
 * design:
 * - An *instance* is service.name + service.instance.id. Once a duration metric arrives for an
 *   instance, its spans stop counting (metrics win). The spans it counted before that are kept
 *   as a credit per label set, deducted from the metric's first increases (which cover the
 *   same requests), so an app that sends both is counted once.
 * - A *stream* is one cumulative point series: instance + metric + scope + the point's full
 *   attribute set + its start time. A new start time is a new stream (a restart), so two
 *   processes that share a resource do not diff against each other. A stream's first point
 *   counts in full when it started after the collector could have counted any of it (after
 *   the collector started and after the instance was last forgotten), otherwise it is only
 *   the baseline; later points add their increase; a count that went down is a reset and
 *   counts in full. DELTA points count as they are.
 * - Bounded: at most `maxInstances` instances (past it, a new instance's spans and delta points
 *   still count, its cumulative points are rejected), at most `maxStreams` streams and as many
 *   span credits (label sets, keyed as the aggregator keys its series); instances
 *   and streams silent for `expiryMs` are forgotten on the same timer as the shim's workers.
 *   The request series themselves go through the aggregator's cardinality guard.
 * PURE apart from startExpiry(): the clock is injected.
 */
import type { Aggregator } from '../aggregate/aggregator';
import { normalizeMethod } from '../aggregate/methods';
import type { Every } from '../workers/registry';
import { everyInterval, expiryIntervalMs } from '../workers/registry';
import type { ResourceIdentity } from './attributes';
import { attributesKey, requestAttributes, resourceIdentity } from './attributes';
import { bucketMap, mapCounts, microsPerUnit, TARGET_BUCKETS, targetBucket } from './buckets';
import type { ExportMetricsRequest, ExportTraceRequest, HistogramDataPoint, Int64, Metric } from './model';
import { FLAG_NO_RECORDED_VALUE, int64Number, int64Text, SPAN_KIND_SERVER, TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA } from './model';

/** The duration metrics read, with the unit each has when the point does not say. */
export const DURATION_METRICS: ReadonlyMap<string, string> = new Map([
  ['http.server.request.duration', 's'],
  ['http.server.duration', 'ms'],
]);
const STABLE_METRIC = 'http.server.request.duration';
const OLD_METRIC = 'http.server.duration';

/**
 * OTLP instances and streams are kept at least this long without news, whatever
 * --worker-expiry-seconds says: SDKs export every 60 s by default (OTEL_METRIC_EXPORT_INTERVAL),
 * and a stream forgotten between two exports loses the increase up to its next point.
 */
export const OTLP_MIN_EXPIRY_MS = 300_000;

/** What one export request brought: items refused (partial success) and why. */
export interface OtlpOutcome {
  /** Data points or spans that were counted. */
  counted: number;
  /** Data points or spans refused (the partial success's rejected count). */
  rejected: number;
  /** The first reason, for the partial success's error_message; "" when none. */
  message: string;
}

export interface OtlpRequestsOptions {
  maxInstances: number;
  maxStreams: number;
  expiryMs: number;
  nowMs?: () => number;
}

interface Stream {
  count: number;
  sum: number;
  /** Per source bucket, as last reported. */
  counts: number[];
  lastSeenMs: number;
}

interface Credit {
  method: string;
  status: number;
  route: string | null;
  buckets: Float64Array;
  sumUs: number;
}

interface Instance {
  id: ResourceIdentity;
  lastSeenMs: number;
  metricsSeen: boolean;
  /** http.server.request.duration seen: http.server.duration (the same requests) is ignored. */
  stableSeen: boolean;
  /** Unix ns before which a first cumulative point may hold counts already counted. */
  horizonNs: bigint;
  streams: Map<string, Stream>;
  /** Spans counted before the first metric, per label set, still to deduct. */
  credits: Map<string, Credit>;
}

/** Running totals for the collector's self metrics. */
export interface OtlpStats {
  instances: number;
  streams: number;
  /** Label sets with span credit held (at most maxStreams in all). */
  credits: number;
  expiredInstances: number;
}

class Tally implements OtlpOutcome {
  counted = 0;
  rejected = 0;
  message = '';

  reject(n: number, why: string): void {
    this.rejected += n;
    if (this.message === '') this.message = why;
  }
}

function nanos(value: Int64 | null | undefined): bigint {
  const text = int64Text(value);
  if (text === undefined || text === '') return 0n;
  try {
    return BigInt(text);
  } catch {
    return -1n;
  }
}


/** Take up to `want` requests out of `credit`, same bucket first, then the nearest ones. */
function deduct(buckets: Float64Array, credit: Credit): void {
  const c = credit.buckets;
  for (let b = 0; b < TARGET_BUCKETS; b++) {
    const m = Math.min(buckets[b]!, c[b]!);
    buckets[b]! -= m;
    c[b]! -= m;
  }
  for (let b = 0; b < TARGET_BUCKETS; b++) {
    for (let distance = 1; c[b]! > 0 && distance < TARGET_BUCKETS; distance++) {
      for (const t of [b - distance, b + distance]) {
        if (t < 0 || t >= TARGET_BUCKETS || c[b]! <= 0) continue;
        const m = Math.min(buckets[t]!, c[b]!);
        buckets[t]! -= m;
        c[b]! -= m;
      }
    }
  }
}

function total(buckets: ArrayLike<number>): number {
  let n = 0;
  for (let b = 0; b < buckets.length; b++) n += buckets[b]!;
  return n;
}

export class OtlpRequests {
  readonly stats: OtlpStats = { instances: 0, streams: 0, credits: 0, expiredInstances: 0 };
  private readonly instances = new Map<string, Instance>();
  /** Instances forgotten by expiry → when (unix ns); bounded like the instances. */
  private readonly forgotten = new Map<string, bigint>();
  private readonly nowMs: () => number;
  private readonly startNs: bigint;

  constructor(
    private readonly aggregator: Aggregator,
    private readonly options: OtlpRequestsOptions,
  ) {
    this.nowMs = options.nowMs ?? Date.now;
    this.startNs = BigInt(Math.floor(this.nowMs())) * 1_000_000n;
  }

  private instanceOf(id: ResourceIdentity): Instance | undefined {
    const now = this.nowMs();
    let instance = this.instances.get(id.key);
    if (instance === undefined) {
      if (this.instances.size >= this.options.maxInstances) return undefined;
      const forgottenAt = this.forgotten.get(id.key);
      this.forgotten.delete(id.key);
      instance = {
        id,
        lastSeenMs: now,
        metricsSeen: false,
        stableSeen: false,
        horizonNs: forgottenAt !== undefined && forgottenAt > this.startNs ? forgottenAt : this.startNs,
        streams: new Map(),
        credits: new Map(),
      };
      this.instances.set(id.key, instance);
      this.stats.instances = this.instances.size;
    }
    instance.lastSeenMs = now;
    return instance;
  }

  /** Count the HTTP server duration histograms of one ExportMetricsServiceRequest. */
  metrics(request: ExportMetricsRequest): OtlpOutcome {
    const tally = new Tally();
    for (const rm of request.resourceMetrics ?? []) {
      const id = resourceIdentity(rm.resource?.attributes);
      // An SDK in semconv "http/dup" mode sends both names for the same requests: the
      // stable one wins, in this request and from then on for the instance.
      const scopes = rm.scopeMetrics ?? [];
      const hasStable = scopes.some((sm) => (sm.metrics ?? []).some((m) => m.name === STABLE_METRIC && m.histogram !== null && m.histogram !== undefined));
      if (hasStable) {
        const instance = this.instanceOf(id);
        if (instance !== undefined) instance.stableSeen = true;
      }
      const skipOld = hasStable || this.instances.get(id.key)?.stableSeen === true;
      for (const [scopeIndex, sm] of scopes.entries()) {
        for (const metric of sm.metrics ?? []) {
          const defaultUnit = DURATION_METRICS.get(metric.name ?? '');
          if (defaultUnit === undefined || (skipOld && metric.name === OLD_METRIC)) continue;
          this.durationMetric(id, `${String(scopeIndex)}/${metric.name ?? ''}`, metric, defaultUnit, tally);
        }
      }
    }
    return tally;
  }

  private durationMetric(id: ResourceIdentity, metricKey: string, metric: Metric, defaultUnit: string, tally: Tally): void {
    const histogram = metric.histogram;
    const points = histogram?.dataPoints ?? [];
    if (histogram === null || histogram === undefined) {
      // Another point type under the name (an exponential histogram, a gauge): not ours to read.
      return;
    }
    const unit = (metric.unit ?? '') === '' ? defaultUnit : (metric.unit ?? defaultUnit);
    const usPerUnit = microsPerUnit(unit);
    if (usPerUnit === undefined) {
      tally.reject(points.length, `${metric.name ?? ''}: unit ${JSON.stringify(unit)} is not a duration unit (s, ms, us, ns)`);
      return;
    }
    const temporality = histogram.aggregationTemporality ?? 0;
    if (temporality !== TEMPORALITY_CUMULATIVE && temporality !== TEMPORALITY_DELTA) {
      tally.reject(points.length, `${metric.name ?? ''}: aggregation temporality ${String(temporality)} is neither DELTA nor CUMULATIVE`);
      return;
    }
    const instance = this.instanceOf(id);
    if (instance !== undefined) instance.metricsSeen = true;
    for (const point of points) {
      const why = this.point(id, instance, metricKey, point, usPerUnit, temporality === TEMPORALITY_CUMULATIVE);
      if (why === undefined) tally.counted++;
      else tally.reject(1, `${metric.name ?? ''}: ${why}`);
    }
  }

  /** Count one histogram point; returns why it was refused, or undefined. */
  private point(id: ResourceIdentity, instance: Instance | undefined, metricKey: string, point: HistogramDataPoint,
    usPerUnit: number, cumulative: boolean): string | undefined {
    if (((point.flags ?? 0) & FLAG_NO_RECORDED_VALUE) !== 0) return undefined;
    const bounds = point.explicitBounds ?? [];
    const counts = (point.bucketCounts ?? []).map(int64Number);
    const count = int64Number(point.count);
    const sum = point.sum ?? 0;
    for (let i = 0; i < bounds.length; i++) {
      if (!Number.isFinite(bounds[i]) || (i > 0 && bounds[i]! <= bounds[i - 1]!)) return 'explicit_bounds must be finite and strictly increasing';
    }
    if (!Number.isFinite(sum) || sum < 0) return `sum must be a finite non-negative number, got ${String(sum)}`;
    if (!Number.isSafeInteger(count)) return 'count is too large';
    if (counts.length === 0) {
      counts.push(...new Array<number>(bounds.length).fill(0), count);
    } else if (counts.length !== bounds.length + 1) {
      return `bucket_counts has ${String(counts.length)} entries for ${String(bounds.length)} explicit_bounds (needs one more)`;
    }
    if (!counts.every(Number.isSafeInteger)) return 'bucket_counts are too large';
    if (total(counts) !== count) return `count ${String(count)} is not the sum of bucket_counts (${String(total(counts))})`;
    const attrs = requestAttributes(point.attributes);
    if (attrs.method === undefined) return 'the point has no http.request.method (or http.method) attribute';

    let increase = counts;
    let increaseSum = sum;
    if (cumulative) {
      if (instance === undefined) return 'too many OTLP instances are held (--max-series-per-metric); cumulative points of a new one cannot be counted';
      const start = nanos(point.startTimeUnixNano);
      if (start < 0n) return 'start_time_unix_nano is not an integer';
      const key = `${metricKey}\u0000${bounds.join(',')}\u0000${attributesKey(point.attributes)}\u0000${start.toString()}`;
      let stream = instance.streams.get(key);
      const now = this.nowMs();
      if (stream === undefined) {
        if (this.stats.streams >= this.options.maxStreams) return 'too many OTLP streams are held; the point cannot be counted';
        stream = { count, sum, counts, lastSeenMs: now };
        instance.streams.set(key, stream);
        this.stats.streams++;
        // Counts from before the horizon may have been counted already (by an earlier
        // collector process, or before this instance was forgotten): only a baseline. It covers
        // the requests of the spans counted so far too, so their credit is used up.
        if (start === 0n || start < instance.horizonNs) {
          if (instance.credits.delete(this.labelKey(id.server, attrs.method, attrs.status, attrs.route))) this.stats.credits--;
          return undefined;
        }
      } else {
        stream.lastSeenMs = now;
        if (count >= stream.count && counts.every((c, i) => c >= (stream?.counts[i] ?? 0))) {
          increase = counts.map((c, i) => c - (stream?.counts[i] ?? 0));
          increaseSum = Math.max(0, sum - stream.sum);
        }
        // else: a reset under the same start time; the new reading counts in full.
        stream.count = count;
        stream.sum = sum;
        stream.counts = counts;
      }
    }
    const buckets = mapCounts(increase, bucketMap(bounds, usPerUnit));
    let sumUs = increaseSum * usPerUnit;
    if (instance !== undefined && instance.credits.size > 0) {
      const credit = instance.credits.get(this.labelKey(id.server, attrs.method, attrs.status, attrs.route));
      if (credit !== undefined) {
        const held = total(credit.buckets);
        const before = total(buckets);
        deduct(buckets, credit);
        const deducted = before - total(buckets);
        // The deducted requests' share of the spans' summed duration.
        const sumShare = held > 0 ? Math.min(sumUs, (credit.sumUs * deducted) / held) : 0;
        sumUs -= sumShare;
        credit.sumUs -= sumShare;
        if (total(credit.buckets) === 0 && instance.credits.delete(this.labelKey(id.server, attrs.method, attrs.status, attrs.route))) {
          this.stats.credits--;
        }
      }
    }
    if (total(buckets) > 0 || sumUs > 0) {
      this.aggregator.addDurations(id.service, id.server, attrs.method, attrs.status, attrs.route, buckets, sumUs);
    }
    return undefined;
  }

  /** Count the HTTP SERVER spans of one ExportTraceServiceRequest (instances without metrics). */
  traces(request: ExportTraceRequest): OtlpOutcome {
    const tally = new Tally();
    const buckets = new Float64Array(TARGET_BUCKETS);
    for (const rs of request.resourceSpans ?? []) {
      const id = resourceIdentity(rs.resource?.attributes);
      let instance: Instance | undefined;
      let looked = false;
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          if (span.kind !== SPAN_KIND_SERVER) continue;
          const attrs = requestAttributes(span.attributes);
          if (attrs.method === undefined) continue; // not an HTTP server span
          const start = nanos(span.startTimeUnixNano);
          const end = nanos(span.endTimeUnixNano);
          if (start <= 0n || end < start) {
            tally.reject(1, 'a SERVER span needs start_time_unix_nano > 0 and end_time_unix_nano >= it');
            continue;
          }
          if (!looked) {
            instance = this.instanceOf(id);
            looked = true;
          }
          tally.counted++;
          if (instance?.metricsSeen === true) continue; // its duration metric counts these requests
          const durationUs = Number(end - start) / 1000;
          const bucket = targetBucket(durationUs);
          buckets.fill(0);
          buckets[bucket] = 1;
          this.aggregator.addDurations(id.service, id.server, attrs.method, attrs.status, attrs.route, buckets, durationUs);
          if (instance !== undefined) this.credit(instance, attrs.method, attrs.status, attrs.route, bucket, durationUs);
        }
      }
    }
    return tally;
  }

  /** The label set a request is counted under, as the aggregator will see it. */
  private labelKey(server: string, method: string, status: number, route: string | null): string {
    const kept = this.aggregator.routes ? (route ?? '\u0001') : '';
    return `${server}\u0000${normalizeMethod(method)}\u0000${String(status)}\u0000${kept}`;
  }

  private credit(instance: Instance, method: string, status: number, route: string | null, bucket: number, durationUs: number): void {
    const key = this.labelKey(instance.id.server, method, status, route);
    let credit = instance.credits.get(key);
    if (credit === undefined) {
      // Bounded like the streams: past it, such spans still count but cannot be deducted later.
      if (this.stats.credits >= this.options.maxStreams) return;
      credit = { method, status, route, buckets: new Float64Array(TARGET_BUCKETS), sumUs: 0 };
      instance.credits.set(key, credit);
      this.stats.credits++;
    }
    credit.buckets[bucket]! += 1;
    credit.sumUs += durationUs;
  }

  /** Forget streams and instances silent for longer than the expiry; returns instances removed. */
  expire(): number {
    const now = this.nowMs();
    const deadline = now - this.options.expiryMs;
    let removed = 0;
    for (const [key, instance] of this.instances) {
      for (const [streamKey, stream] of instance.streams) {
        if (stream.lastSeenMs < deadline) {
          instance.streams.delete(streamKey);
          this.stats.streams--;
        }
      }
      if (instance.lastSeenMs < deadline) {
        this.stats.streams -= instance.streams.size;
        this.stats.credits -= instance.credits.size;
        this.instances.delete(key);
        this.forgotten.set(key, BigInt(Math.floor(now)) * 1_000_000n);
        if (this.forgotten.size > this.options.maxInstances) {
          const oldest = this.forgotten.keys().next().value;
          if (oldest !== undefined) this.forgotten.delete(oldest);
        }
        removed++;
      }
    }
    this.stats.instances = this.instances.size;
    this.stats.expiredInstances += removed;
    return removed;
  }

  startExpiry(every: Every = everyInterval): () => void {
    return every(expiryIntervalMs(this.options.expiryMs), () => {
      this.expire();
    });
  }
}
