/**
 * Prometheus recording and alerting rules as code, beside the dashboards (the monitoring-mixin
 * shape): `prometheus/rules/wsgiscope.rules.yml` is generated from the diagnosis thresholds the
 * collector itself uses (collector/src/diagnosis/thresholds.json), so the live diagnosis and
 * the alerts cannot drift. One alert per finding id of docs/diagnosis.md that PromQL can
 * express, named `Wsgiscope` + the id in CamelCase, with `severity` and `finding_id` labels.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Thresholds } from '../../../collector/src/diagnosis/thresholds';
import { METRICS } from './metrics';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const THRESHOLDS_PATH = resolve(REPO_ROOT, 'collector', 'src', 'diagnosis', 'thresholds.json');
export const RULES_PATH = resolve(REPO_ROOT, 'prometheus', 'rules', 'wsgiscope.rules.yml');
const DOC = 'docs/diagnosis.md';

/**
 * The thresholds the rules read: the collector's own Thresholds type (a type-only import, erased
 * from the build; the dashboards project references the collector's for it).
 */
export type RuleThresholds = Thresholds;

export function loadRuleThresholds(path: string = THRESHOLDS_PATH): RuleThresholds {
  return JSON.parse(readFileSync(path, 'utf8')) as RuleThresholds;
}

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'info' | 'warning' | 'critical'; finding_id: string };
  annotations: { summary: string; description: string };
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: (RecordingRule | AlertingRule)[];
}

/** Worker classes and servers whose requests share one thread (collector/src/diagnosis/view.ts). */
export const ASYNC_WORKER_CLASSES = ['gevent', 'eventlet', 'tornado', 'uvicorn', 'asgi', 'greenlet', 'async'];
/** As the collector's (collector/src/diagnosis/view.ts): not uvicorn, whose ASGI shim says `asgi` and whose WSGI adapters run threads. */
export const ASYNC_SERVERS = ['meinheld'];

const SVC = 'service_name, server';
const WKR = 'service_name, server, worker';
const W = '1m';
/** How long a condition must hold before an alert fires. */
export const FOR = '1m';

/** A bucket bound as the `le` label may spell it: `1` (Prometheus text) or `1.0` (OpenMetrics). */
function le(seconds: number): string {
  const text = String(seconds);
  const escaped = text.replace('.', '\\\\.');
  return text.includes('.') ? `le=~"${escaped}0*"` : `le=~"${escaped}(\\\\.0+)?"`;
}

const sumRate = (metric: string, by: string, matchers = ''): string => `sum by (${by}) (rate(${metric}${matchers === '' ? '' : `{${matchers}}`}[${W}]))`;
const alt = (values: readonly string[]): string => values.join('|');
/** Keeps only series of services with no async (greenlet, event-loop) worker. */
const notAsync = `unless on (${SVC}) (${METRICS.workerInfo}{worker_class=~"${alt(ASYNC_WORKER_CLASSES)}"} or ${METRICS.workerInfo}{server=~"${alt(ASYNC_SERVERS)}"})`;
const isAsync = `and on (${WKR}) (${METRICS.workerInfo}{worker_class=~"${alt(ASYNC_WORKER_CLASSES)}"} or ${METRICS.workerInfo}{server=~"${alt(ASYNC_SERVERS)}"})`;

export const RECORD = {
  busyThreads: 'wsgiscope:busy_threads:rate1m',
  capacity: 'wsgiscope:capacity_threads:sum',
  utilization: 'wsgiscope:utilization:ratio_rate1m',
  queueMean: 'wsgiscope:queue_duration_seconds:mean_rate1m',
  queueP95: 'wsgiscope:queue_duration_seconds:p95_rate1m',
  phaseShare: 'wsgiscope:request_phase_share:ratio_rate1m',
  ioShare: 'wsgiscope:request_io_share:ratio_rate1m',
  ioMean: 'wsgiscope:request_io_seconds:mean_rate1m',
  cpuShare: 'wsgiscope:request_cpu_share:ratio_rate1m',
  longShare: 'wsgiscope:long_request_share:ratio_rate1m',
  shortShare: 'wsgiscope:short_request_share:ratio_rate1m',
  schedWaitShare: 'wsgiscope:sched_wait_share:ratio_rate1m',
  runnableCores: 'wsgiscope:runnable_cores:rate1m',
  workerBusy: 'wsgiscope:worker_busy_threads:rate1m',
  workerCpu: 'wsgiscope:worker_cpu_cores:rate1m',
  workerSchedWaitShare: 'wsgiscope:worker_sched_wait_share:ratio_rate1m',
} as const;

const SCHED_RUN = 'wsgi_worker_sched_run_seconds_total';
const SCHED_WAIT = 'wsgi_worker_sched_wait_seconds_total';

export function recordingRules(t: RuleThresholds): RecordingRule[] {
  const io = sumRate(`${METRICS.phaseDuration}_sum`, SVC, 'phase=~"read_body|write"');
  const durationSum = sumRate(`${METRICS.requestDuration}_sum`, SVC);
  const durationCount = sumRate(`${METRICS.requestDuration}_count`, SVC);
  const c = t.long_requests_block_short;
  return [
    { record: RECORD.busyThreads, expr: sumRate(METRICS.workerBusyThreadSeconds, SVC) },
    { record: RECORD.capacity, expr: `sum by (${SVC}) (${METRICS.workerThreads})` },
    { record: RECORD.utilization, expr: `${RECORD.busyThreads} / ${RECORD.capacity}` },
    { record: RECORD.queueMean, expr: `${sumRate(`${METRICS.queueDuration}_sum`, SVC)} / ${sumRate(`${METRICS.queueDuration}_count`, SVC)}` },
    { record: RECORD.queueP95, expr: `histogram_quantile(0.95, ${sumRate(`${METRICS.queueDuration}_bucket`, `le, ${SVC}`)})` },
    {
      record: RECORD.phaseShare,
      expr: `${sumRate(`${METRICS.phaseDuration}_sum`, `${SVC}, phase`, 'phase!="first_byte"')} / ignoring (phase) group_left ${durationSum}`,
    },
    { record: RECORD.ioShare, expr: `${io} / ${durationSum}` },
    { record: RECORD.ioMean, expr: `${io} / ${durationCount}` },
    {
      // CPU over handler time (the request less body reads and writes), where (almost) every
      // request's CPU was attributable (not greenlet servers).
      record: RECORD.cpuShare,
      expr:
        `${sumRate(`${METRICS.requestCpu}_sum`, SVC)} / (${durationSum} - ${io})` +
        ` and on (${SVC}) (${sumRate(`${METRICS.requestCpu}_count`, SVC)} >= 0.9 * ${durationCount})`,
    },
    { record: RECORD.longShare, expr: `1 - ${sumRate(`${METRICS.requestDuration}_bucket`, SVC, le(c.long_seconds))} / ${durationCount}` },
    { record: RECORD.shortShare, expr: `${sumRate(`${METRICS.requestDuration}_bucket`, SVC, le(c.short_seconds))} / ${durationCount}` },
    { record: RECORD.runnableCores, expr: `${sumRate(SCHED_RUN, SVC)} + ${sumRate(SCHED_WAIT, SVC)}` },
    { record: RECORD.schedWaitShare, expr: `${sumRate(SCHED_WAIT, SVC)} / ${RECORD.runnableCores}` },
    { record: RECORD.workerBusy, expr: sumRate(METRICS.workerBusyThreadSeconds, WKR) },
    { record: RECORD.workerCpu, expr: sumRate(METRICS.workerCpuSeconds, WKR) },
    {
      record: RECORD.workerSchedWaitShare,
      expr: `${sumRate(SCHED_WAIT, WKR)} / (${sumRate(SCHED_RUN, WKR)} + ${sumRate(SCHED_WAIT, WKR)})`,
    },
  ];
}

function alert(
  id: string,
  name: string,
  severity: AlertingRule['labels']['severity'],
  expr: string,
  summary: string,
  description: string,
): AlertingRule {
  return {
    alert: name,
    expr,
    for: FOR,
    labels: { severity, finding_id: id },
    annotations: { summary, description: `${description} See ${DOC}, finding ${id}.` },
  };
}

const where = '{{ $labels.service_name }} on {{ $labels.server }}';
const whereWorker = '{{ $labels.worker }} ({{ $labels.service_name }} on {{ $labels.server }})';

export function alertingRules(t: RuleThresholds): AlertingRule[] {
  const ce = t.capacity_exhausted;
  const sc = t.slow_clients;
  const gil = t.gil_contention;
  const cs = t.cpu_saturated;
  const lr = t.long_requests_block_short;
  const bio = t.blocking_io;
  const capacityKnown = `unless on (${SVC}) ${METRICS.workerInfo}{capacity_source=~"default|unbounded"}`;
  const utilization = `(${RECORD.utilization} ${capacityKnown})`;
  // Threads waiting for a core (schedstat): busy with little CPU, late wake-ups — the host's doing.
  const coreStarved = `((${RECORD.schedWaitShare} >= ${String(cs.sched_wait_share_ratio)}) and on (${SVC}) (${RECORD.runnableCores} >= ${String(cs.min_runnable_cores)}))`;
  const queueing =
    `(${RECORD.queueMean} >= ${String(ce.queue_mean_seconds)}` +
    ` or sum by (${SVC}) (max_over_time(${METRICS.listenQueue}[${W}])) >= 1)`;
  return [
    alert('capacity_exhausted', 'WsgiscopeCapacityExhausted', 'warning',
      `${utilization} >= ${String(ce.utilization_ratio)}`,
      `${where}: {{ $value | humanizePercentage }} of its threads are busy`,
      'Workers are at capacity: add workers or threads if the host has CPU to spare; if requests mostly wait, use threaded or async workers.'),
    alert('capacity_exhausted', 'WsgiscopeCapacityExhaustedQueueing', 'critical',
      `(${utilization} >= ${String(ce.utilization_ratio)}) and on (${SVC}) ${queueing}`,
      `${where}: {{ $value | humanizePercentage }} of its threads are busy and requests queue`,
      'Requests queue for a free worker (queue time or a listen queue): add capacity, or move long requests elsewhere.'),
    alert('slow_clients', 'WsgiscopeSlowClients', 'warning',
      `(${RECORD.ioShare} >= ${String(sc.io_share_ratio)})` +
        ` and on (${SVC}) (${RECORD.ioMean} >= ${String(sc.io_mean_seconds)})` +
        ` and on (${SVC}) (${utilization} >= ${String(sc.utilization_ratio)}) ${notAsync}`,
      `${where}: {{ $value | humanizePercentage }} of request time is body reads and response writes`,
      'Slow clients hold sync or threaded workers: put a buffering proxy (nginx) in front, or use async workers.'),
    alert('gil_contention', 'WsgiscopeGilContention', 'warning',
      `(${RECORD.workerBusy} >= ${String(gil.busy_threads)})` +
        ` and on (${WKR}) (${RECORD.workerCpu} >= ${String(gil.process_cpu_cores_min)} <= ${String(gil.process_cpu_cores_max)})` +
        ` and on (${WKR}) (${METRICS.workerThreads} > 1)` +
        // CPU share of the time not spent waiting for a core (schedstat; none known: no wait).
        ` and on (${SVC}) ((${RECORD.cpuShare} / (1 - (${RECORD.schedWaitShare} or on (${SVC}) (0 * ${RECORD.cpuShare})))) <= ${String(gil.cpu_share_ratio_max)})` +
        ` ${notAsync}`,
      `${whereWorker}: {{ $value | humanize }} busy threads share about one core`,
      'CPU-bound requests on threads of one process wait for the GIL: use processes for CPU-bound work, or move it out of the request.'),
    alert('cpu_saturated', 'WsgiscopeCpuSaturated', 'warning',
      `(${RECORD.schedWaitShare} >= ${String(cs.sched_wait_share_ratio)}) and on (${SVC}) (${RECORD.runnableCores} >= ${String(cs.min_runnable_cores)})`,
      `${where}: runnable threads wait {{ $value | humanizePercentage }} of the time for a core`,
      'The host\'s CPUs are saturated: more workers or threads will not help; reduce CPU per request or add cores.'),
    alert('long_requests_block_short', 'WsgiscopeLongRequestsBlockShort', 'warning',
      `(${RECORD.longShare} >= ${String(lr.long_share_ratio)})` +
        ` and on (${SVC}) (${RECORD.shortShare} >= ${String(lr.short_share_ratio)})` +
        ` and on (${SVC}) (${RECORD.capacity} <= ${String(lr.max_lanes)})` +
        ` and on (${SVC}) (${RECORD.utilization} >= ${String(lr.utilization_ratio)} or ${RECORD.queueMean} >= ${String(ce.queue_mean_seconds)})` +
        ` ${capacityKnown} ${notAsync}`,
      `${where}: {{ $value | humanizePercentage }} of requests take over ${String(lr.long_seconds)} s on few lanes`,
      'Short requests wait behind long ones: more lanes, a separate pool for long endpoints, or asynchronous long work.'),
    alert('blocking_io', 'WsgiscopeBlockingIo', 'info',
      `(${utilization} >= ${String(bio.utilization_ratio)})` +
        ` and on (${SVC}) (${RECORD.cpuShare} <= ${String(bio.cpu_share_ratio_max)})` +
        ` and on (${SVC}) (${RECORD.ioShare} <= ${String(bio.io_share_ratio_max)})` +
        ` and on (${SVC}) (avg by (${SVC}) (${RECORD.workerCpu}) <= ${String(bio.process_cpu_cores_max)})` +
        ` unless on (${SVC}) ${coreStarved} ${notAsync}`,
      `${where}: {{ $value | humanizePercentage }} of threads busy while requests barely use a CPU`,
      'Requests wait on I/O (a back end, a lock): use more threads or async workers; check the back end.'),
    alert('event_loop_blocked', 'WsgiscopeEventLoopBlocked', 'warning',
      `histogram_quantile(0.99, ${sumRate(`${METRICS.workerSamplerLag}_bucket`, `le, ${WKR}`)}) >= ${String(t.event_loop_blocked.sampler_lag_p99_seconds)} ${isAsync}` +
        ` unless on (${WKR}) (${RECORD.workerSchedWaitShare} >= ${String(cs.sched_wait_share_ratio)})`,
      `${whereWorker}: the event loop wakes up {{ $value | humanizeDuration }} late (p99)`,
      'CPU work or an unpatched blocking call runs on the loop: move it off the loop.'),
    alert('stuck_requests', 'WsgiscopeStuckRequests', 'warning',
      `max by (${WKR}) (${METRICS.workerOldestRequestAge}) >= ${String(t.stuck_requests.oldest_request_age_seconds)}`,
      `${whereWorker}: a request has been in flight for {{ $value | humanizeDuration }}`,
      'Find what it waits on (py-spy dump); set timeouts on back-end calls and a worker timeout.'),
    alert('stuck_requests', 'WsgiscopeStuckRequestsCritical', 'critical',
      `max by (${WKR}) (${METRICS.workerOldestRequestAge}) >= ${String(t.stuck_requests.critical_oldest_request_age_seconds)}`,
      `${whereWorker}: a request has been in flight for {{ $value | humanizeDuration }}`,
      'A request has held a thread for minutes: find what it waits on; set a worker timeout.'),
    alert('memory_growth', 'WsgiscopeMemoryGrowth', 'warning',
      `(max by (${WKR}) (deriv(${METRICS.workerResidentMemory}[2m])) >= ${String(t.memory_growth.bytes_per_second)})` +
        ` and on (${WKR}) (max by (${WKR}) (delta(${METRICS.workerResidentMemory}[2m])) >= ${String(t.memory_growth.growth_bytes)})`,
      `${whereWorker}: RSS grows by {{ $value | humanize1024 }}B/s`,
      'Look for a leak (tracemalloc); recycle workers (max-requests with jitter).'),
    alert('shim_drops', 'WsgiscopeShimDrops', 'warning',
      `sum by (${WKR}) (increase(${METRICS.shimDroppedRecords}[5m])) >= ${String(t.shim_drops.dropped_records)}`,
      `${whereWorker}: the shim dropped {{ $value | humanize }} request records in 5 minutes`,
      'The shim could not deliver to the collector: check the collector is reachable and not refusing batches.'),
    alert('unknown_capacity', 'WsgiscopeUnknownCapacity', 'info',
      `max by (${WKR}) (${METRICS.workerInfo}{capacity_source="default"})`,
      `${whereWorker}: the server did not tell its capacity`,
      'Utilization is not judged: set WSGISCOPE_CAPACITY_THREADS to what the server is configured with.'),
  ];
}

export function ruleGroups(t: RuleThresholds = loadRuleThresholds()): RuleGroup[] {
  return [
    { name: 'wsgiscope.recording', rules: recordingRules(t) },
    { name: 'wsgiscope.alerts', rules: alertingRules(t) },
  ];
}

/** YAML double-quoted scalars are JSON strings. */
const q = (s: string): string => JSON.stringify(s);
/** A PromQL expression as a literal block scalar: no escaping, as written. */
const block = (expr: string, indent: string): string[] => {
  if (expr.includes('\n')) throw new Error('rule expressions are single lines');
  return ['|-', `${indent}${expr}`];
};

/** The rules file, as written to prometheus/rules/wsgiscope.rules.yml. */
export function renderRules(groups: RuleGroup[] = ruleGroups()): string {
  const lines = [
    '# Generated by packages/dashboards (npm run -w packages/dashboards generate) from',
    '# collector/src/diagnosis/thresholds.json: do not edit; docs/diagnosis.md explains every rule.',
    'groups:',
  ];
  for (const group of groups) {
    lines.push(`  - name: ${q(group.name)}`, '    rules:');
    for (const rule of group.rules) {
      if ('record' in rule) {
        const [style, text] = block(rule.expr, '          ');
        lines.push(`      - record: ${q(rule.record)}`, `        expr: ${style!}`, text!);
      } else {
        const [style, text] = block(rule.expr, '          ');
        lines.push(`      - alert: ${q(rule.alert)}`, `        expr: ${style!}`, text!, `        for: ${rule.for}`);
        lines.push('        labels:', `          severity: ${q(rule.labels.severity)}`, `          finding_id: ${q(rule.labels.finding_id)}`);
        lines.push('        annotations:', `          summary: ${q(rule.annotations.summary)}`, `          description: ${q(rule.annotations.description)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
