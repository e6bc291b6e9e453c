// The live page: subscribes to /api/live/stream (server-sent events, one snapshot a second)
// and redraws the charts, the timeline and the tables. No framework, no inline script (the
// page's Content-Security-Policy allows scripts from this origin only).
import { Charts } from './charts.js';
import { pollDiagnosis } from './diagnosis.js';
import { fmtMs, fmtRate, fmtRatio, last } from './format.js';
import { renderRoutes, renderServices, renderSlowRequests, renderWorkers } from './tables.js';
import { drawTimeline, renderLegend } from './timeline.js';

/** @typedef {import('../state').LiveSnapshot} LiveSnapshot */

/**
 * The page's element with this id and type (index.html has every one the script names).
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T, name: string }} type
 * @returns {T}
 */
function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`live page: no ${type.name} #${id}`);
  return el;
}

/** @param {string} id */
const $ = (id) => byId(id, HTMLElement);

/**
 * The body of the table with this id.
 * @param {string} id
 * @returns {HTMLTableSectionElement}
 */
function tbody(id) {
  const body = byId(id, HTMLTableElement).tBodies.item(0);
  if (body === null) throw new Error(`live page: table #${id} has no tbody`);
  return body;
}

const charts = new Charts($('charts'));
pollDiagnosis(byId('diagnosis', HTMLUListElement), $('diagnosis-info'));
renderLegend($('timeline-legend'));
renderLegend($('slow-legend'));
let updates = 0;
/** @type {LiveSnapshot | null} */
let latest = null;

/** @param {LiveSnapshot} snap */
function summary(snap) {
  const s = snap.series;
  $('sum-rate').textContent = fmtRate(last(s.rate));
  $('sum-p95').textContent = fmtMs(last(s.p95_ms));
  $('sum-queue').textContent = fmtMs(last(s.queue_p95_ms));
  const busy = last(s.busy_threads);
  const capacity = last(s.capacity_threads);
  $('sum-busy').textContent = busy === null || capacity === null ? '–' : `${busy.toFixed(1)} / ${capacity.toFixed(0)}`;
  $('sum-util').textContent = fmtRatio(last(s.utilization));
  $('sum-workers').textContent = String(snap.workers_total);
}

/** @param {LiveSnapshot} snap */
function render(snap) {
  latest = snap;
  summary(snap);
  charts.update(snap.series);
  const t = snap.timeline;
  const drawn = drawTimeline(byId('timeline', HTMLCanvasElement), t);
  const hidden = t.workers_total - t.workers.length;
  $('timeline-info').textContent =
    `last ${Math.round((t.to_unix_us - t.from_unix_us) / 1e6)} s · ${drawn.bars} requests on ${drawn.lanes} lanes` +
    (t.sampled ? " · sampled: a busy worker's requests are thinned, long ones always kept" : '') +
    (hidden > 0 ? ` · first ${t.workers.length} of ${t.workers_total} workers` : '');
  renderSlowRequests(tbody('slow'), snap.slow_requests);
  $('slow-info').textContent = snap.slow_requests.length === 0
    ? 'none captured (the shim keeps requests slower than WSGISCOPE_SLOW_REQUEST_SECONDS)'
    : `${snap.slow_requests.length} slowest of the last 5 minutes · each phase from its first to its last moment`;
  renderWorkers(tbody('workers'), snap.workers);
  $('workers-info').textContent = `${snap.workers_total} workers`;
  renderServices(tbody('services'), snap.services);
  renderRoutes(tbody('routes'), snap.routes);
  updates++;
  document.body.dataset.updates = String(updates);
}

/**
 * @param {string} text
 * @param {'live' | 'down'} cls
 */
function setStatus(text, cls) {
  const el = $('status');
  el.textContent = text;
  el.className = `status ${cls}`;
}

const source = new EventSource('/api/live/stream');
source.addEventListener('snapshot', (/** @type {MessageEvent<string>} */ event) => {
  /** @type {unknown} */
  const snap = JSON.parse(event.data);
  render(/** @type {LiveSnapshot} */ (snap));
  setStatus(`live · ${new Date().toLocaleTimeString()}`, 'live');
});
source.addEventListener('error', () => {
  setStatus('disconnected, retrying…', 'down');
});
window.addEventListener('resize', () => {
  if (latest !== null) drawTimeline(byId('timeline', HTMLCanvasElement), latest.timeline);
});
