/**
 * The overview: one line per server, so servers running the same app can be
 * compared side by side (traffic, latency, where the time goes, capacity),
 * summed over every host; the last row breaks capacity down per host.
 */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboardFrame, finish } from '../frame';
import type { DashboardModel } from '../schema';
import { METRICS } from '../metrics';
import { heatmap, timeseries } from '../panels';
import { RATE_WINDOW, SERVICE_SCOPE as S, mean, quantile, selector, sumRate } from '../promql';
import { datasourceVariable, serverVariable, serviceVariable } from '../variables';

export const OVERVIEW_UID = 'wsgiscope-overview';

const BY_SERVER = ['server'];
/** Per-worker series carry `host`; request series do not (one collector per host: `instance`). */
const BY_HOST = ['server', 'host'];
const requests = `${METRICS.requestDuration}_count`;

/** 5xx share of responses; `or … * 0` keeps a 0 line for servers without errors. */
const errorRatio =
  `(${sumRate(requests, BY_SERVER, S, ['http_response_status_code=~"5.."'])}` +
  ` or ${sumRate(requests, BY_SERVER, S)} * 0)` +
  ` / ${sumRate(requests, BY_SERVER, S)}`;

const percent = (q: number): number => Math.round(q * 100);

const percentiles = (histogram: string) =>
  [0.5, 0.9, 0.99].map((q) => ({ expr: quantile(q, histogram, BY_SERVER, S), legend: `{{server}} p${percent(q)}` }));

export function overviewDashboard(): DashboardModel {
  const builder = dashboardFrame(
    OVERVIEW_UID,
    'wsgiscope / Overview',
    'Per-server view of a WSGI app instrumented with wsgiscope: traffic, latency, request phases, utilization.',
  )
    .withVariable(datasourceVariable())
    .withVariable(serviceVariable())
    .withVariable(serverVariable())

    .withRow(new RowBuilder('Traffic and errors'))
    .withPanel(timeseries({
      title: 'Request rate',
      description: 'Completed requests per second, per server. The throughput each server sustains under the same load.',
      unit: 'reqps', width: 8, min: 0,
      queries: [{ expr: sumRate(requests, BY_SERVER, S), legend: '{{server}}' }],
    }))
    .withPanel(timeseries({
      title: 'Responses by status code',
      description: 'Completed requests per second by HTTP status code, per server.',
      unit: 'reqps', width: 8, min: 0,
      queries: [{
        expr: sumRate(requests, ['server', 'http_response_status_code'], S),
        legend: '{{server}} {{http_response_status_code}}',
      }],
    }))
    .withPanel(timeseries({
      title: 'Error ratio (5xx)',
      description: 'Share of responses with a 5xx status, per server (0 when a server answered no errors).',
      unit: 'percentunit', width: 8, min: 0, max: 1,
      queries: [{ expr: errorRatio, legend: '{{server}}' }],
    }))

    .withRow(new RowBuilder('Latency'))
    .withPanel(timeseries({
      title: 'Request duration percentiles',
      description:
        'p50 / p90 / p99 of start-of-request to close() of the response, per server. ' +
        'A p99 far above p50 under a mix of short and long requests means short ones wait behind long ones.',
      unit: 's', width: 12, min: 0,
      queries: percentiles(METRICS.requestDuration),
    }))
    .withPanel(heatmap({
      title: 'Request duration heatmap — $server',
      description: 'Distribution of request durations over time (one heatmap per server): bimodal bands show short and long requests.',
      unit: 's', width: 12,
      bucketsExpr: `sum by (le) (rate(${selector(`${METRICS.requestDuration}_bucket`, S)}[${RATE_WINDOW}]))`,
    }).repeat('server').repeatDirection('h').maxPerRow(2))

    .withRow(new RowBuilder('Where the time goes'))
    .withPanel(timeseries({
      title: 'Queue time percentiles',
      description:
        'Time from the front end stamping X-Request-Start to the app starting, per server. ' +
        'Rises for everyone when long-running requests pin the workers at capacity. Needs a proxy that sets the header.',
      unit: 's', width: 8, min: 0,
      queries: [0.5, 0.99].map((q) => ({
        expr: quantile(q, METRICS.queueDuration, BY_SERVER, S), legend: `{{server}} p${percent(q)}`,
      })),
    }))
    .withPanel(timeseries({
      title: 'Mean time per request by phase',
      description:
        'read_body (reading wsgi.input: large uploads, slow clients), app (the app call, less its body reads and write() calls), ' +
        'generate (the response iterable producing the body: a streaming generator computing or waiting between chunks), ' +
        'write (suspended while the server writes: large responses, slow readers). These four add up to the request duration, ' +
        'drawn beside them; first_byte (start to first body byte) is a point in time, not a share.',
      unit: 's', width: 8, min: 0,
      queries: [
        { expr: mean(METRICS.phaseDuration, ['server', 'phase'], S), legend: '{{server}} {{phase}}' },
        { expr: mean(METRICS.requestDuration, BY_SERVER, S), legend: '{{server}} duration' },
      ],
    }))
    .withPanel(timeseries({
      title: 'CPU time vs wall time per request',
      description:
        'Mean thread CPU per request against mean duration. CPU ≈ wall: CPU-bound requests; ' +
        'wall ≫ CPU: blocked on a back end or a slow client, or waiting for the GIL.',
      unit: 's', width: 8, min: 0,
      queries: [
        { expr: mean(METRICS.requestCpu, BY_SERVER, S), legend: '{{server}} CPU' },
        { expr: mean(METRICS.requestDuration, BY_SERVER, S), legend: '{{server}} wall' },
      ],
    }))
    .withPanel(timeseries({
      title: 'Phase p99',
      description: 'The 99th percentile of each phase, per server: the tail of uploads, app time, body generation and response writing.',
      unit: 's', width: 12, min: 0,
      queries: [{ expr: quantile(0.99, METRICS.phaseDuration, ['server', 'phase'], S), legend: '{{server}} {{phase}}' }],
    }))
    .withPanel(timeseries({
      title: 'Body bytes in / out',
      description: 'Bytes read from wsgi.input and bytes sent in responses per second, per server.',
      unit: 'Bps', width: 12, min: 0,
      queries: [
        { expr: sumRate(`${METRICS.requestBodySize}_sum`, BY_SERVER, S), legend: '{{server}} in' },
        { expr: sumRate(`${METRICS.responseBodySize}_sum`, BY_SERVER, S), legend: '{{server}} out' },
      ],
    }))

    .withRow(new RowBuilder('Capacity across the server'))
    .withPanel(timeseries({
      title: 'Utilization',
      description:
        'Average busy threads ÷ thread capacity over all workers of a server. Near 100 %: the server is saturated ' +
        'and new requests queue.',
      unit: 'percentunit', width: 8, min: 0, max: 1,
      queries: [{
        expr: `${sumRate(METRICS.workerBusyThreadSeconds, BY_SERVER, S)} / sum by (server) (${selector(METRICS.workerThreads, S)})`,
        legend: '{{server}}',
      }],
    }))
    .withPanel(timeseries({
      title: 'Busy threads vs capacity',
      description:
        'Threads busy on average over the window, requests in flight now, and the capacity (threads × processes). ' +
        'Busy pinned at capacity: long-running requests hold every thread.',
      unit: 'short', width: 8, min: 0,
      queries: [
        { expr: sumRate(METRICS.workerBusyThreadSeconds, BY_SERVER, S), legend: '{{server}} busy (avg)' },
        { expr: `sum by (server) (${selector(METRICS.activeRequests, S)})`, legend: '{{server}} in flight' },
        { expr: `sum by (server) (${selector(METRICS.workerThreads, S)})`, legend: '{{server}} capacity' },
      ],
    }))
    .withPanel(timeseries({
      title: 'Oldest in-flight request',
      description: 'Age of the oldest request still running in any worker: stuck or very long requests show as a rising line.',
      unit: 's', width: 8, min: 0,
      queries: [{ expr: `max by (server) (${selector(METRICS.workerOldestRequestAge, S)})`, legend: '{{server}}' }],
    }))
    .withPanel(timeseries({
      title: 'Process CPU',
      description: 'CPU cores used by all worker processes, user and system. Compare with the host cores for CPU saturation.',
      unit: 'short', width: 8, min: 0,
      queries: [{ expr: sumRate(METRICS.workerCpuSeconds, ['server', 'mode'], S), legend: '{{server}} {{mode}}' }],
    }))
    .withPanel(timeseries({
      title: 'Resident memory',
      description: 'RSS summed over the worker processes of each server.',
      unit: 'bytes', width: 8, min: 0,
      queries: [{ expr: `sum by (server) (${selector(METRICS.workerResidentMemory, S)})`, legend: '{{server}}' }],
    }))
    .withPanel(timeseries({
      title: 'Worker processes',
      description: 'Worker processes reporting. Drops when workers die; their series expire after a silence.',
      unit: 'short', width: 8, min: 0,
      queries: [{ expr: `count by (server) (${selector(METRICS.workerThreads, S)})`, legend: '{{server}}' }],
    }))

    // Beyond one host (docs/scaling.md): one collector per host, all scraped by one Prometheus
    // (or federated / remote-written into one store). Per-worker series carry `host`.
    .withRow(new RowBuilder('Per host'))
    .withPanel(timeseries({
      title: 'Request rate per collector',
      description:
        'Completed requests per second by Prometheus target (instance). Request histograms carry no host label; ' +
        'with one collector per host or pod, each target is one host. The lines add up to the Request rate above.',
      unit: 'reqps', width: 8, min: 0,
      queries: [{ expr: sumRate(requests, ['server', 'instance'], S), legend: '{{server}} {{instance}}' }],
    }))
    .withPanel(timeseries({
      title: 'Utilization per host',
      description:
        'Average busy threads ÷ thread capacity over the workers of each host (label host: the shim\'s WSGISCOPE_HOST, ' +
        'e.g. a pod name, else the machine\'s name). One hot host among cool ones: uneven load balancing.',
      unit: 'percentunit', width: 8, min: 0, max: 1,
      queries: [{
        expr: `${sumRate(METRICS.workerBusyThreadSeconds, BY_HOST, S)} / sum by (server, host) (${selector(METRICS.workerThreads, S)})`,
        legend: '{{server}} {{host}}',
      }],
    }))
    .withPanel(timeseries({
      title: 'Busy threads vs capacity per host',
      description: 'Per host: threads busy on average over the window, requests in flight now, and the capacity of its workers.',
      unit: 'short', width: 8, min: 0,
      queries: [
        { expr: sumRate(METRICS.workerBusyThreadSeconds, BY_HOST, S), legend: '{{server}} {{host}} busy (avg)' },
        { expr: `sum by (server, host) (${selector(METRICS.activeRequests, S)})`, legend: '{{server}} {{host}} in flight' },
        { expr: `sum by (server, host) (${selector(METRICS.workerThreads, S)})`, legend: '{{server}} {{host}} capacity' },
      ],
    }))
    .withPanel(timeseries({
      title: 'Process CPU per host',
      description: 'CPU cores used by the worker processes on each host (user + system): compare with that host\'s cores.',
      unit: 'short', width: 8, min: 0,
      queries: [{ expr: sumRate(METRICS.workerCpuSeconds, BY_HOST, S), legend: '{{server}} {{host}}' }],
    }))
    .withPanel(timeseries({
      title: 'Resident memory per host',
      description: 'RSS summed over the worker processes on each host.',
      unit: 'bytes', width: 8, min: 0,
      queries: [{ expr: `sum by (server, host) (${selector(METRICS.workerResidentMemory, S)})`, legend: '{{server}} {{host}}' }],
    }))
    .withPanel(timeseries({
      title: 'Worker processes per host',
      description: 'Worker processes reporting from each host (every worker, including those without a fixed capacity).',
      unit: 'short', width: 8, min: 0,
      queries: [{ expr: `count by (server, host) (${selector(METRICS.workerInfo, S)})`, legend: '{{server}} {{host}}' }],
    }));
  return finish(builder);
}
