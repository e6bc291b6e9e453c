/**
 * The one wait helper of the TypeScript tests, with the contract of the Python harness's
 * `wait_for` (wsgiscope_harness/waiting.py): call `probe` until it returns something other than
 * `undefined`, and return that; an exception from the probe counts as "not yet"; after
 * `timeoutMs` fail with an error naming `what` (and the probe's last error).
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}${last === undefined ? '' : `: ${last}`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
