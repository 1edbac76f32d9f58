// A full garbage collection on request. V8 collects lazily: after a 750 000-line document's analysis is
// dropped (a new version, a close) its ~250 MB stay until the old generation reaches a limit V8 sets from
// the last live size times a growth factor up to 4, so the next analysis could run on top of them and
// the process peak at 1.5 GB instead of 0.9. The server asks for one collection right after dropping a
// big analysis. `--expose-gc` can be turned on at run time; the function is read from a fresh context.
import v8 from 'node:v8';
import vm from 'node:vm';

let gcFn: (() => void) | null | undefined;

/** Runs a full, synchronous collection; false when the runtime does not allow it. */
export function collectGarbage(): boolean {
  if (gcFn === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const f = vm.runInNewContext('gc');
      gcFn = typeof f === 'function' ? (f as () => void) : null;
    } catch {
      gcFn = null;
    }
  }
  if (!gcFn) return false;
  gcFn();
  return true;
}
