// The time-series charts (uPlot, served by the collector from node_modules; no CDN).
// uPlot is a global: its own <script> tag loads it before this module.

/** @typedef {import('../seconds').SecondSeries} SecondSeries */
/** @typedef {Exclude<keyof SecondSeries, 'time'>} SeriesKey */
/** @typedef {[SeriesKey, string, string]} SeriesSpec key in the snapshot, legend label, colour */
/** @typedef {{ id: string, title: string, series: [SeriesSpec, ...SeriesSpec[]] }} ChartSpec */

/** @type {ChartSpec[]} */
const CHARTS = [
  { id: 'rate', title: 'Requests per second', series: [['rate', 'requests/s', '#2563eb'], ['errors', '5xx/s', '#dc2626']] },
  { id: 'latency', title: 'Latency (ms)', series: [['p50_ms', 'p50', '#16a34a'], ['p95_ms', 'p95', '#d97706'], ['p99_ms', 'p99', '#dc2626']] },
  { id: 'queue', title: 'Queue time (ms, requests with X-Request-Start)', series: [['queue_mean_ms', 'mean', '#7c3aed'], ['queue_p95_ms', 'p95', '#db2777']] },
  {
    id: 'phases', title: 'Phases (mean ms per request)', series: [
      ['phase_queue_ms', 'queue', '#9ca3af'], ['phase_read_ms', 'read body', '#0ea5e9'], ['phase_app_ms', 'app', '#16a34a'],
      ['phase_generate_ms', 'body generation', '#84cc16'], ['phase_write_ms', 'write', '#f97316'],
    ],
  },
  { id: 'busy', title: 'Busy threads vs capacity (all workers)', series: [['busy_threads', 'busy', '#2563eb'], ['capacity_threads', 'capacity', '#9ca3af']] },
  { id: 'util', title: 'Utilization and process CPU', series: [['utilization', 'utilization (ratio)', '#dc2626'], ['cpu_cores', 'CPU (cores)', '#0d9488']] },
];

export class Charts {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.plots = CHARTS.map((spec) => {
      const box = document.createElement('div');
      box.className = 'chart';
      box.dataset.chart = spec.id;
      const h = document.createElement('h3');
      h.textContent = spec.title;
      box.append(h);
      container.append(box);
      /** @type {uPlot.Options} */
      const opts = {
        width: Math.max(300, box.clientWidth - 16),
        height: 170,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        series: [{}, ...spec.series.map(([, label, stroke]) => ({ label, stroke, width: 1.5, spanGaps: false }))],
        axes: [{}, { size: 50 }],
      };
      const plot = new uPlot(opts, [[], ...spec.series.map(() => [])], box);
      return { spec, plot, box };
    });
    window.addEventListener('resize', () => {
      for (const { plot, box } of this.plots) plot.setSize({ width: Math.max(300, box.clientWidth - 16), height: 170 });
    });
  }

  /** @param {SecondSeries} series */
  update(series) {
    for (const { spec, plot, box } of this.plots) {
      plot.setData([series.time, ...spec.series.map(([key]) => series[key])]);
      // Test hooks, from the data just drawn: the last second and the first series' maximum.
      /** @type {(number | null)[]} */
      const drawn = series[spec.series[0][0]];
      const first = drawn.filter((v) => v !== null);
      box.dataset.lastTime = String(series.time.length > 0 ? series.time[series.time.length - 1] : '');
      box.dataset.max = String(first.length > 0 ? Math.max(...first) : '');
    }
  }
}
