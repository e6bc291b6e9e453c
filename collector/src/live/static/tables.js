// Tables of workers, services and routes. Every value is set with textContent: label values
// (service names, routes, worker names) come from the network and are never parsed as HTML.
import { fmtBytes, fmtMs, fmtRate, fmtRatio } from './format.js';
import { PHASES } from './timeline.js';

/** @typedef {import('../state').LiveSnapshot} LiveSnapshot */

/**
 * The row's cell at `index`, adding cells up to it.
 * @param {HTMLTableRowElement} row
 * @param {number} index
 * @returns {HTMLTableCellElement}
 */
function cell(row, index) {
  while (row.cells.length <= index) row.insertCell();
  return /** @type {HTMLTableCellElement} */ (row.cells[index]);
}

/**
 * @param {HTMLTableRowElement} row
 * @param {number} index
 * @param {string} text
 */
function setText(row, index, text) {
  const c = cell(row, index);
  if (c.textContent !== text) c.textContent = text;
  c.title = text;
}

/**
 * Keep exactly one row per item in a tbody, reusing the ones there, and fill each.
 * @template T
 * @param {HTMLTableSectionElement} tbody
 * @param {T[]} items
 * @param {(row: HTMLTableRowElement, item: T) => void} fill
 */
function fillRows(tbody, items, fill) {
  while (tbody.rows.length > items.length) tbody.deleteRow(-1);
  while (tbody.rows.length < items.length) tbody.insertRow();
  items.forEach((item, i) => {
    fill(tbody.rows[i], item);
  });
}

/**
 * A bar of `value` out of `capacity`, with its label.
 * @param {HTMLTableRowElement} row
 * @param {number} index
 * @param {number | null} value
 * @param {number | null} capacity null: no fixed capacity (a thread per connection)
 */
function meter(row, index, value, capacity) {
  const c = cell(row, index);
  let bar = /** @type {HTMLElement | null} */ (c.querySelector('.meter'));
  let label = /** @type {HTMLElement | null} */ (c.querySelector('.meter-label'));
  if (bar === null || label === null) {
    bar = document.createElement('span');
    bar.className = 'meter';
    bar.append(document.createElement('i'));
    label = document.createElement('span');
    label.className = 'meter-label';
    c.replaceChildren(bar, label);
  }
  const ratio = capacity !== null && capacity > 0 && value !== null ? Math.min(1, value / capacity) : 0;
  /** @type {HTMLElement} */ (bar.firstChild).style.width = `${(ratio * 100).toFixed(1)}%`;
  bar.classList.toggle('full', ratio >= 1);
  label.textContent = `${value === null ? '–' : value} / ${capacity ?? '∞'}`;
}

/**
 * Connections waiting to be accepted, per listening socket: "3 / 2048" (queued / backlog), the
 * addresses in the cell's title. Addresses come from the network: text only.
 * @param {HTMLTableRowElement} row
 * @param {number} index
 * @param {LiveSnapshot['workers'][number]['listen']} sockets
 */
function listenQueue(row, index, sockets) {
  const text = sockets.length === 0 ? '–' : sockets.map((s) => (s.limit === null ? String(s.queued) : `${s.queued} / ${s.limit}`)).join(' · ');
  setText(row, index, text);
  const c = cell(row, index);
  c.classList.toggle('queued', sockets.some((s) => s.queued > 0));
  if (sockets.length > 0) c.title = sockets.map((s) => `${s.address || '(listen_backlog)'}: ${s.queued} waiting${s.limit === null ? '' : ` of ${s.limit}`}`).join('\n');
}

/**
 * @param {HTMLTableSectionElement} tbody
 * @param {LiveSnapshot['workers']} workers
 */
export function renderWorkers(tbody, workers) {
  fillRows(tbody, workers, (tr, w) => {
    setText(tr, 0, w.worker);
    setText(tr, 1, w.service_name);
    setText(tr, 2, w.worker_class ? `${w.server} / ${w.worker_class}` : w.server);
    meter(tr, 3, w.busy_threads, w.capacity_threads);
    setText(tr, 4, fmtRatio(w.utilization));
    setText(tr, 5, w.cpu_cores === null ? '–' : w.cpu_cores.toFixed(2));
    setText(tr, 6, fmtBytes(w.rss_bytes));
    setText(tr, 7, w.oldest_request_age_s === null ? '–' : fmtMs(w.oldest_request_age_s * 1000));
    listenQueue(tr, 8, w.listen);
    setText(tr, 9, `${w.last_seen_s.toFixed(1)} s ago`);
  });
}

/** @typedef {LiveSnapshot['slow_requests'][number]} SlowRequest */
/** The phases of a traced request, in the order of PHASES (timeline.js) and of the protocol. */
const TRACE_PHASES = /** @type {const} */ (['queue', 'read_body', 'app', 'generate', 'write']);

/**
 * One request's phases as bars along its time, from the queue's start (before the request) to
 * its end: each phase from its first to its last moment (a streamed body's generation and
 * writing overlap), in the timeline's colours; the numbers in the cell's title.
 * @param {HTMLTableRowElement} row
 * @param {number} index
 * @param {SlowRequest} r
 */
function phaseBars(row, index, r) {
  const c = cell(row, index);
  let bar = /** @type {HTMLElement | null} */ (c.querySelector('.phasebar'));
  if (bar === null) {
    bar = document.createElement('span');
    bar.className = 'phasebar';
    c.replaceChildren(bar);
  }
  const from = Math.min(0, r.phases.queue === null ? 0 : r.phases.queue[0]);
  const span = Math.max(r.duration_ms - from, 1e-3);
  /** @type {HTMLElement[]} */
  const segments = [];
  /** @type {string[]} */
  const lines = [];
  TRACE_PHASES.forEach((phase, i) => {
    const p = r.phases[phase];
    if (p === null) return;
    const [first, last, total] = p;
    const seg = document.createElement('i');
    seg.style.left = `${(((first - from) / span) * 100).toFixed(2)}%`;
    seg.style.width = `${Math.max(0.5, ((last - first) / span) * 100).toFixed(2)}%`;
    seg.style.background = PHASES[i][1];
    segments.push(seg);
    lines.push(`${PHASES[i][0]}: ${fmtMs(total)} (from ${fmtMs(first)} to ${fmtMs(last)})`);
  });
  bar.replaceChildren(...segments);
  bar.dataset.phases = String(segments.length);
  c.title = lines.join('\n');
}

/**
 * The slowest recent requests, with their phases. Service, route, method and error come from
 * the network: text only.
 * @param {HTMLTableSectionElement} tbody
 * @param {SlowRequest[]} requests
 */
export function renderSlowRequests(tbody, requests) {
  fillRows(tbody, requests, (tr, r) => {
    setText(tr, 0, new Date(r.start_unix_ms).toLocaleTimeString());
    setText(tr, 1, r.service_name);
    setText(tr, 2, r.method);
    setText(tr, 3, r.route ?? '');
    setText(tr, 4, r.error === null ? String(r.status) : `${r.status} ${r.error}`);
    setText(tr, 5, fmtMs(r.duration_ms));
    phaseBars(tr, 6, r);
    setText(tr, 7, r.trace_id);
    cell(tr, 7).title = r.joined ? `${r.trace_id} (the caller's trace, from its traceparent)` : `${r.trace_id} (${r.reason}; a trace of its own)`;
  });
}

/**
 * @param {HTMLTableSectionElement} tbody
 * @param {LiveSnapshot['services']} services
 */
export function renderServices(tbody, services) {
  fillRows(tbody, services, (tr, s) => {
    setText(tr, 0, s.service_name);
    setText(tr, 1, s.server);
    setText(tr, 2, String(s.workers));
    setText(tr, 3, fmtRate(s.records_per_s));
  });
}

/**
 * @param {HTMLTableSectionElement} tbody
 * @param {LiveSnapshot['routes']} routes
 */
export function renderRoutes(tbody, routes) {
  fillRows(tbody, routes, (tr, r) => {
    setText(tr, 0, r.route === '' ? '(no route)' : r.route);
    setText(tr, 1, fmtRate(r.requests_per_s));
    setText(tr, 2, fmtMs(r.mean_ms));
  });
}
