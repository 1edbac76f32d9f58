// Cooperative work for the language server: long loops written as generators that yield every few tens
// of milliseconds, so the server can answer other requests in between and drop a stale document version
// (`return()` on the generator). The sync APIs run the same generators to the end.

/** Tells a long loop when it has used up its slice of time. */
export class TimeSlice {
  private n = 0;
  private until = -1;

  constructor(private readonly ms = 25, private readonly every = 64) {}

  /** True once the slice is used up (the clock is read every `every` calls). The next slice starts at the
   *  first call after that, so time spent suspended in a yield does not count. */
  due(): boolean {
    if (this.until < 0) this.until = performance.now() + this.ms;
    if (++this.n % this.every) return false;
    if (performance.now() < this.until) return false;
    this.until = -1;
    return true;
  }
}

/** Runs a generator to the end and returns its result (the sync form of a `...Steps` function). */
export function runSteps<T>(g: Generator<unknown, T, void>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}
