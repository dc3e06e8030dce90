/**
 * Long computations on an event loop that also serves requests: the console's experiment statistics
 * (a bootstrap of thousands of resamples, up to about half a second for 50,000 sessionless requests)
 * share the loop with the API and, in the local stack, with the gateway itself. Written as generators
 * that yield at safe points, they run here in slices of at most SLICE_MS, with a turn of the event loop
 * between slices, so no request waits behind a whole analysis.
 */

/** The longest the loop is held at a stretch (a few frames of 60 Hz; well under a request's latency). */
export const SLICE_MS = 8;

/** Runs `steps` to the end, giving the event loop a turn whenever a slice has lasted SLICE_MS. */
export async function runCooperatively<T>(steps: Generator<void, T, void>, sliceMs = SLICE_MS): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
