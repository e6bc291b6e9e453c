// Number formatting for the live page. Pure functions, no DOM.

/** @param {number | null | undefined} ms */
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** @param {number | null | undefined} n */
export function fmtRate(n) {
  if (n === null || n === undefined) return '–';
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** @param {number | null | undefined} r */
export function fmtRatio(r) {
  return r === null || r === undefined ? '–' : `${(r * 100).toFixed(0)} %`;
}

/** @param {number | null | undefined} b */
export function fmtBytes(b) {
  if (b === null || b === undefined) return '–';
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(2)} GiB`;
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  return `${(b / 1024).toFixed(0)} KiB`;
}

/**
 * The last non-null value of an array, or null.
 * @param {(number | null)[]} values
 * @returns {number | null}
 */
export function last(values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}
