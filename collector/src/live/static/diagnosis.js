// The diagnosis panel: polls GET /api/diagnosis every two seconds and lists the findings.
// Every value is set with textContent: service names, workers and servers come from the
// network and are never parsed as HTML.

/** @typedef {import('../../diagnosis/engine').DiagnosisReport} DiagnosisReport */
/** @typedef {import('../../diagnosis/rules').Finding} Finding */

const POLL_MS = 2000;

/**
 * @param {string} tag
 * @param {string} text
 * @param {string} [className]
 * @returns {HTMLElement}
 */
function el(tag, text, className) {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className !== undefined) e.className = className;
  return e;
}

/**
 * One finding as a list item.
 * @param {Finding} f
 * @returns {HTMLLIElement}
 */
function item(f) {
  const li = document.createElement('li');
  li.className = `finding ${f.severity}`;
  li.dataset.id = f.id;
  const head = el('div', '', 'head');
  head.append(el('b', f.severity.toUpperCase(), 'severity'), el('code', f.id), el('span', [f.service_name, f.server, f.worker].filter((x) => x !== undefined).join(' / '), 'where'));
  const evidence = el('div', f.evidence.map((e) => `${e.name} ${String(e.value)} ${e.unit}`).join(' · '), 'evidence');
  li.append(head, el('div', f.summary, 'summary'), evidence, el('div', f.advice, 'advice'));
  return li;
}

/**
 * @param {HTMLUListElement} list
 * @param {HTMLElement} info
 * @param {DiagnosisReport} report
 */
export function renderDiagnosis(list, info, report) {
  list.replaceChildren(...report.findings.map(item));
  info.textContent = report.findings.length === 0 ? 'no findings' : `${String(report.findings.length)} finding(s)`;
  list.dataset.findings = String(report.findings.length);
}

/**
 * Poll /api/diagnosis for ever; a failed poll shows in `info` and is retried.
 * @param {HTMLUListElement} list
 * @param {HTMLElement} info
 */
export function pollDiagnosis(list, info) {
  const poll = async () => {
    try {
      const res = await fetch('/api/diagnosis', { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${String(res.status)}`);
      /** @type {unknown} */
      const body = await res.json();
      renderDiagnosis(list, info, /** @type {DiagnosisReport} */ (body));
    } catch (err) {
      info.textContent = `diagnosis unavailable: ${err instanceof Error ? err.message : String(err)}`;
    }
    setTimeout(() => void poll(), POLL_MS);
  };
  void poll();
}
