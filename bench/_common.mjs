// What the JavaScript benchmarks share: where the repository is, the built packages, the
// command line, a seeded generator (so runs feed the same values), and the median.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const require = createRequire(import.meta.url);

/**
 * A module of the built workspaces, e.g. `built('collector/dist/aggregate/aggregator.js')`;
 * callers give it the type of its source (`typeof import('../collector/src/....js')`).
 * @param {string} path
 * @returns {unknown}
 */
export const built = (path) => require(join(root, path));

/**
 * The number after `--name` on the command line, or `fallback`.
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/**
 * A deterministic generator of numbers in [0, 1) (a linear congruential one).
 * @param {number} seed
 * @returns {() => number}
 */
export function seeded(seed) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** @param {number[]} xs */
/** @typedef {Extract<import('@wsgiscope/protocol').DecodeResult, { ok: true }>['batch']} Batch a decoded batch */
/**
 * A version 1 batch as sent (the benches' load): no detected_capacity_threads, no gen_us.
 * @typedef {Omit<Batch, 'resource'> & { resource: Omit<Batch['resource'], 'detected_capacity_threads'> }} BatchV1Wire
 */

/**
 * A version 1 batch as the decoder hands it on (detected_capacity_threads null), for feeding
 * the worker registry directly.
 * @param {BatchV1Wire} batch
 * @returns {Batch}
 */
export const asDecoded = (batch) => ({ ...batch, resource: { ...batch.resource, detected_capacity_threads: null } });

/** @param {number[]} xs */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
