// The per-thread timeline: one lane per (worker, thread), one bar per recent request,
// coloured by phase. The phases partition the request (the collector sends them so for every
// protocol version) and are drawn in this order along time:
//   queue (before the start, from X-Request-Start) | read body | app | body generation | write
// read is drawn at the start of the app call and write at the end of the request: the shim
// measures how long each took, not exactly when, so this is where they usually are (a streamed
// body interleaves generation and writing).
// Lane names are drawn with fillText (canvas text, never markup).

/** @typedef {import('../state').LiveSnapshot['timeline']} Timeline */
/** @typedef {import('../state').TimelineWorker} TimelineWorker */
/** @typedef {{ worker: string, thread: number, bars: number, max_ms: number }} Lane */

/** @type {[name: string, color: string][]} */
export const PHASES = [
  ['queue', '#cbd5e1'],
  ['read body', '#0ea5e9'],
  ['app', '#16a34a'],
  ['body generation', '#84cc16'],
  ['write', '#f97316'],
];
const [Q, R, A, G, W] = PHASES.map(([, color]) => color);
const LABEL_PX = 170;
const AXIS_PX = 18;
const MAX_SMALL_CAPACITY_LANES = 32;

/**
 * Lanes of one worker: every thread seen, plus idle capacity (up to 32 threads).
 * @param {TimelineWorker} worker
 * @returns {number[]}
 */
function lanesOf(worker) {
  const seen = new Set(worker.thread);
  for (let t = 0; t < Math.min(worker.capacity_threads ?? 0, MAX_SMALL_CAPACITY_LANES); t++) seen.add(t);
  return [...seen].sort((a, b) => a - b);
}

/** @param {HTMLElement} ul */
export function renderLegend(ul) {
  ul.replaceChildren(
    ...PHASES.map(([name, color]) => {
      const li = document.createElement('li');
      const swatch = document.createElement('b');
      swatch.style.background = color;
      li.append(swatch, document.createTextNode(name));
      return li;
    }),
  );
}

/**
 * Draws the timeline into the canvas; returns how many bars and lanes it drew.
 * @param {HTMLCanvasElement} canvas
 * @param {Timeline} timeline
 * @returns {{ bars: number, lanes: number }}
 */
export function drawTimeline(canvas, timeline) {
  /** @type {Lane[]} */
  const lanes = [];
  for (const w of timeline.workers) for (const t of lanesOf(w)) lanes.push({ worker: w.worker, thread: t, bars: 0, max_ms: 0 });
  const laneHeight = lanes.length > 150 ? 3 : lanes.length > 60 ? 6 : 12;
  const dpr = window.devicePixelRatio || 1;
  const wrap = canvas.parentElement;
  if (wrap === null) throw new Error('live page: the timeline canvas is not in the page');
  const cssWidth = wrap.clientWidth;
  const cssHeight = lanes.length * laneHeight + AXIS_PX;
  canvas.style.height = `${cssHeight}px`;
  canvas.width = Math.round(cssWidth * dpr);
  canvas.height = Math.round(cssHeight * dpr);
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('live page: no 2d context for the timeline canvas');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);

  const spanUs = timeline.to_unix_us - timeline.from_unix_us;
  const plotWidth = cssWidth - LABEL_PX;
  /** @param {number} us */
  const x = (us) => LABEL_PX + (Math.min(Math.max(us, 0), spanUs) / spanUs) * plotWidth;

  // Time axis: a tick every 5 s, labelled in seconds before now.
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillStyle = '#6b7280';
  ctx.strokeStyle = '#eef0f3';
  for (let s = 0; s * 1e6 <= spanUs; s += 5) {
    const px = x(spanUs - s * 1e6);
    ctx.beginPath();
    ctx.moveTo(px, AXIS_PX - 4);
    ctx.lineTo(px, cssHeight);
    ctx.stroke();
    ctx.textAlign = s === 0 ? 'right' : 'center';
    ctx.fillText(s === 0 ? 'now' : `-${s} s`, px, 10);
    ctx.textAlign = 'left';
  }

  const laneIndex = new Map(lanes.map((lane, i) => [`${lane.worker}\u0000${lane.thread}`, i]));
  /** @type {string | null} */
  let previousWorker = null;
  lanes.forEach((lane, i) => {
    const y = AXIS_PX + i * laneHeight;
    if (i % 2 === 0) {
      ctx.fillStyle = '#f8fafc';
      ctx.fillRect(LABEL_PX, y, plotWidth, laneHeight);
    }
    if (laneHeight >= 10) {
      ctx.fillStyle = '#374151';
      const name = lane.worker === previousWorker ? `  thread ${lane.thread}` : `${lane.worker} · ${lane.thread}`;
      ctx.fillText(name.length > 30 ? `${name.slice(0, 29)}…` : name, 4, y + laneHeight - 2, LABEL_PX - 8);
    }
    previousWorker = lane.worker;
  });

  let bars = 0;
  for (const w of timeline.workers) {
    for (let k = 0; k < w.start_us.length; k++) {
      const i = laneIndex.get(`${w.worker}\u0000${w.thread[k]}`);
      if (i === undefined) continue;
      const y = AXIS_PX + i * laneHeight + 1;
      const h = Math.max(1, laneHeight - 2);
      const start = w.start_us[k];
      const end = start + w.duration_us[k];
      const readEnd = Math.min(start + w.read_us[k], end);
      const appEnd = Math.min(readEnd + w.app_us[k], end);
      const writeStart = Math.max(appEnd, end - w.write_us[k]);
      const genEnd = Math.min(appEnd + w.gen_us[k], writeStart);
      /**
       * @param {number} from
       * @param {number} to
       * @param {string} color
       */
      const segment = (from, to, color) => {
        if (to <= 0 || from >= spanUs) return;
        const x0 = x(from);
        ctx.fillStyle = color;
        ctx.fillRect(x0, y, Math.max(1, x(to) - x0), h);
      };
      if (w.queue_us[k] > 0) segment(start - w.queue_us[k], start, Q);
      segment(start, end, A); // the whole request first, so even a sub-pixel one shows
      if (readEnd > start) segment(start, readEnd, R);
      if (genEnd > appEnd) segment(appEnd, genEnd, G);
      if (end > writeStart) segment(writeStart, end, W);
      if (w.status[k] >= 500) {
        ctx.strokeStyle = '#dc2626';
        ctx.strokeRect(x(start), y, Math.max(1, x(end) - x(start)), h);
      }
      const lane = lanes[i];
      lane.bars++;
      lane.max_ms = Math.max(lane.max_ms, Math.round(w.duration_us[k] / 1000));
      bars++;
    }
  }
  // Test hook, from the same data the bars were drawn from.
  canvas.dataset.bars = String(bars);
  canvas.dataset.lanes = JSON.stringify(lanes);
  return { bars, lanes: lanes.length };
}
