/**
 * The per-worker view: one line per worker process (label `worker`, host:pid),
 * for occupancy against capacity, phases, process CPU / RSS and shim health.
 */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboardFrame, finish } from '../frame';
import type { DashboardModel } from '../schema';
import { METRICS } from '../metrics';
import { table, timeseries } from '../panels';
import { RATE_WINDOW, SERVICE_SCOPE, WORKER_SCOPE as W, quantile, selector, sumRate } from '../promql';
import { datasourceVariable, hostVariable, serverVariable, serviceVariable, workerVariable } from '../variables';

export const WORKERS_UID = 'wsgiscope-workers';

const BY_WORKER = ['server', 'worker'];

const gauge = (metric: string): string => `sum by (server, worker) (${selector(metric, W)})`;

export function workersDashboard(): DashboardModel {
  const builder = dashboardFrame(
    WORKERS_UID,
    'wsgiscope / Workers',
    'Per-worker view of a WSGI app instrumented with wsgiscope: busy threads vs capacity, phases, CPU, RSS, sampler lag, shim drops.',
  )
    .withVariable(datasourceVariable())
    .withVariable(serviceVariable())
    .withVariable(serverVariable())
    .withVariable(hostVariable())
    .withVariable(workerVariable())

    .withRow(new RowBuilder('Occupancy per worker'))
    .withPanel(timeseries({
      title: 'Busy threads vs capacity',
      description:
        'Per worker: threads busy on average over the window (exact integral), busy now (sampled) and capacity. ' +
        'A sync worker is pinned at 1 of 1 while a slow client trickles its body; a gthread worker shows how many of its threads are used.',
      unit: 'short', width: 12, min: 0,
      queries: [
        { expr: sumRate(METRICS.workerBusyThreadSeconds, BY_WORKER, W), legend: '{{worker}} busy (avg)' },
        { expr: gauge(METRICS.workerBusyThreads), legend: '{{worker}} busy (now)' },
        { expr: gauge(METRICS.workerThreads), legend: '{{worker}} capacity' },
      ],
    }))
    .withPanel(timeseries({
      title: 'Utilization per worker',
      description: 'Busy-thread-seconds ÷ (threads × interval) over the shim\'s last reporting interval, per worker.',
      unit: 'percentunit', width: 12, min: 0, max: 1,
      queries: [{ expr: gauge(METRICS.workerUtilization), legend: '{{worker}}' }],
    }))
    .withPanel(timeseries({
      title: 'Requests in flight',
      description: 'Requests being served by each worker now.',
      unit: 'short', width: 12, min: 0,
      queries: [{ expr: gauge(METRICS.activeRequests), legend: '{{worker}}' }],
    }))
    .withPanel(timeseries({
      title: 'Oldest in-flight request',
      description: 'Age of the oldest request still running in each worker: a stuck request shows as a line rising 1 s per second.',
      unit: 's', width: 12, min: 0,
      queries: [{ expr: gauge(METRICS.workerOldestRequestAge), legend: '{{worker}}' }],
    }))
    .withPanel(timeseries({
      title: 'Listen queue per socket',
      description:
        'Connections waiting to be accepted on each listening socket, against its backlog (the accept queue\'s capacity). ' +
        'Waiting connections mean every worker is busy: requests queue in the kernel before any timing starts. ' +
        'Workers of one server share a socket and each reports it, hence max by address — and by host, ' +
        'since an address such as 0.0.0.0:8000 recurs on every host and is another socket there.',
      unit: 'short', width: 24, min: 0,
      queries: [
        { expr: `max by (server, host, address) (${selector(METRICS.listenQueue, W)})`, legend: '{{server}} {{host}} {{address}} waiting' },
        { expr: `max by (server, host, address) (${selector(METRICS.listenQueueLimit, W)})`, legend: '{{server}} {{host}} {{address}} backlog' },
      ],
    }))

    // Request histograms carry no pid or host label (cardinality), so phases are per server here,
    // whatever $host and $worker select.
    .withRow(new RowBuilder('Request phases (per server)'))
    .withPanel(timeseries({
      title: 'Phase p50',
      description: 'Per server, over all hosts ($host and $worker do not apply: request histograms carry neither). Median time per phase: read_body, app, generate (body generation inside the response iterable) and write partition the request; first_byte is the time to the first body byte.',
      unit: 's', width: 12, min: 0,
      queries: [{
        expr: quantile(0.5, METRICS.phaseDuration, ['server', 'phase'], SERVICE_SCOPE),
        legend: '{{server}} {{phase}}',
      }],
    }))
    .withPanel(timeseries({
      title: 'Phase p99',
      description: 'Per server, over all hosts. Tail time per phase: slow uploads show in read_body, slow streaming generators in generate, slow readers and large responses in write.',
      unit: 's', width: 12, min: 0,
      queries: [{
        expr: quantile(0.99, METRICS.phaseDuration, ['server', 'phase'], SERVICE_SCOPE),
        legend: '{{server}} {{phase}}',
      }],
    }))

    .withRow(new RowBuilder('Process per worker'))
    .withPanel(timeseries({
      title: 'CPU per worker',
      description: 'CPU cores used by each worker process, user and system. A worker near 1 core is CPU-saturated (one GIL).',
      unit: 'short', width: 8, min: 0,
      queries: [{ expr: sumRate(METRICS.workerCpuSeconds, ['server', 'worker', 'mode'], W), legend: '{{worker}} {{mode}}' }],
    }))
    .withPanel(timeseries({
      title: 'Resident memory per worker',
      description: 'RSS of each worker process.',
      unit: 'bytes', width: 8, min: 0,
      queries: [{ expr: gauge(METRICS.workerResidentMemory), legend: '{{worker}}' }],
    }))
    .withPanel(timeseries({
      title: 'Sampler lag',
      description:
        'How late the shim\'s sampler thread wakes up (p50, p99). It rises when CPU-bound threads hold the GIL: ' +
        'an approximation of GIL contention, not a direct measurement.',
      unit: 's', width: 8, min: 0,
      queries: [0.5, 0.99].map((q) => ({
        expr: quantile(q, METRICS.workerSamplerLag, BY_WORKER, W),
        legend: `{{worker}} p${Math.round(q * 100)}`,
      })),
    }))
    .withPanel(timeseries({
      title: 'Shim dropped records',
      description: 'Request records a worker could not deliver to the collector (collector down or slow) over the window. 0 is healthy.',
      unit: 'short', width: 12, min: 0,
      queries: [{
        expr: `sum by (server, worker) (increase(${selector(METRICS.shimDroppedRecords, W)}[${RATE_WINDOW}]))`,
        legend: '{{worker}}',
      }],
    }))
    .withPanel(table({
      title: 'Workers',
      description:
        'One row per worker: server version, worker class, Python and shim versions, and where its capacity came from ' +
        '(detected, configured, default, or unbounded: no fixed capacity), with the detected capacity a configured one overrides.',
      unit: 'short', width: 12,
      queries: [{ expr: selector(METRICS.workerInfo, W), legend: '{{worker}}' }],
    }));
  return finish(builder);
}
