// The live page: subscribes to /api/live/stream (server-sent events, one snapshot a second)
// and redraws the charts, the timeline and the tables. No framework, no inline script (the
// page's Content-Security-Policy allows scripts from this origin only).
import { Charts } from './charts.js';
import { fmtMs, fmtRate, fmtRatio, last } from './format.js';
import { renderRoutes, renderServices, renderWorkers } from './tables.js';
import { drawTimeline, renderLegend } from './timeline.js';

const $ = (id) => document.getElementById(id);
const charts = new Charts($('charts'));
renderLegend($('timeline-legend'));
let updates = 0;
let latest = null;

function summary(snap) {
  const s = snap.series;
  $('sum-rate').textContent = fmtRate(last(s.rate));
  $('sum-p95').textContent = fmtMs(last(s.p95_ms));
  $('sum-queue').textContent = fmtMs(last(s.queue_p95_ms));
  const busy = last(s.busy_threads);
  const capacity = last(s.capacity_threads);
  $('sum-busy').textContent = busy === null ? '–' : `${busy.toFixed(1)} / ${capacity.toFixed(0)}`;
  $('sum-util').textContent = fmtRatio(last(s.utilization));
  $('sum-workers').textContent = String(snap.workers_total);
}

function render(snap) {
  latest = snap;
  summary(snap);
  charts.update(snap.series);
  const t = snap.timeline;
  const drawn = drawTimeline($('timeline'), t);
  const hidden = t.workers_total - t.workers.length;
  $('timeline-info').textContent =
    `last ${Math.round((t.to_unix_us - t.from_unix_us) / 1e6)} s · ${drawn.bars} requests on ${drawn.lanes} lanes` +
    (t.sampled ? " · sampled: a busy worker's requests are thinned, long ones always kept" : '') +
    (hidden > 0 ? ` · first ${t.workers.length} of ${t.workers_total} workers` : '');
  renderWorkers($('workers').tBodies[0], snap.workers);
  $('workers-info').textContent = `${snap.workers_total} workers`;
  renderServices($('services').tBodies[0], snap.services);
  renderRoutes($('routes').tBodies[0], snap.routes);
  updates++;
  document.body.dataset.updates = String(updates);
}

function setStatus(text, cls) {
  const el = $('status');
  el.textContent = text;
  el.className = `status ${cls}`;
}

const source = new EventSource('/api/live/stream');
source.addEventListener('snapshot', (event) => {
  render(JSON.parse(event.data));
  setStatus(`live · ${new Date().toLocaleTimeString()}`, 'live');
});
source.addEventListener('error', () => {
  setStatus('disconnected, retrying…', 'down');
});
window.addEventListener('resize', () => {
  if (latest !== null) drawTimeline($('timeline'), latest.timeline);
});
