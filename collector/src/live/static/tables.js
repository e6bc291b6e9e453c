// Tables of workers, services and routes. Every value is set with textContent: label values
// (service names, routes, worker names) come from the network and are never parsed as HTML.
import { fmtBytes, fmtMs, fmtRate, fmtRatio } from './format.js';

function cell(row, index) {
  while (row.cells.length <= index) row.insertCell();
  return row.cells[index];
}

function setText(row, index, text) {
  const c = cell(row, index);
  if (c.textContent !== text) c.textContent = text;
  c.title = text;
}

/** Keep exactly `n` rows in a tbody, reusing the ones there. */
function rows(tbody, n) {
  while (tbody.rows.length > n) tbody.deleteRow(-1);
  while (tbody.rows.length < n) tbody.insertRow();
  return tbody.rows;
}

function meter(row, index, value, capacity) {
  const c = cell(row, index);
  let bar = c.querySelector('.meter');
  let label = c.querySelector('.meter-label');
  if (bar === null) {
    bar = document.createElement('span');
    bar.className = 'meter';
    bar.append(document.createElement('i'));
    label = document.createElement('span');
    label.className = 'meter-label';
    c.replaceChildren(bar, label);
  }
  const ratio = capacity > 0 && value !== null ? Math.min(1, value / capacity) : 0;
  bar.firstChild.style.width = `${(ratio * 100).toFixed(1)}%`;
  bar.classList.toggle('full', ratio >= 1);
  label.textContent = `${value === null ? '–' : value} / ${capacity}`;
}

export function renderWorkers(tbody, workers) {
  const trs = rows(tbody, workers.length);
  workers.forEach((w, i) => {
    const tr = trs[i];
    setText(tr, 0, w.worker);
    setText(tr, 1, w.service_name);
    setText(tr, 2, w.worker_class ? `${w.server} / ${w.worker_class}` : w.server);
    meter(tr, 3, w.busy_threads, w.capacity_threads);
    setText(tr, 4, fmtRatio(w.utilization));
    setText(tr, 5, w.cpu_cores === null ? '–' : w.cpu_cores.toFixed(2));
    setText(tr, 6, fmtBytes(w.rss_bytes));
    setText(tr, 7, w.oldest_request_age_s === null ? '–' : fmtMs(w.oldest_request_age_s * 1000));
    setText(tr, 8, `${w.last_seen_s.toFixed(1)} s ago`);
  });
}

export function renderServices(tbody, services) {
  const trs = rows(tbody, services.length);
  services.forEach((s, i) => {
    setText(trs[i], 0, s.service_name);
    setText(trs[i], 1, s.server);
    setText(trs[i], 2, String(s.workers));
    setText(trs[i], 3, fmtRate(s.records_per_s));
  });
}

export function renderRoutes(tbody, routes) {
  const trs = rows(tbody, routes.length);
  routes.forEach((r, i) => {
    setText(trs[i], 0, r.route === '' ? '(no route)' : r.route);
    setText(trs[i], 1, fmtRate(r.requests_per_s));
    setText(trs[i], 2, fmtMs(r.mean_ms));
  });
}
