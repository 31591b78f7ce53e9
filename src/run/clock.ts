// Milliseconds on the monotonic clock, for durations. Not `performance.now()`: the first use of
// the `performance` global loads ten of node's internal modules (perf_hooks and its timing
// classes), a cost every run paid at start-up for a few subtractions.

/** Milliseconds since an arbitrary fixed point; only differences mean anything. */
export function nowMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}
