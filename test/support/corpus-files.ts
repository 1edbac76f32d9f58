// Files of a corpus folder, for tests that read ../shared/corpora: depth first, each folder's entries sorted.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Every file under `dir`. */
export function filesUnder(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) filesUnder(p, out);
    else out.push(p);
  }
  return out;
}

/** The rulesets under `dir`: every file but the licences, READMEs and `info` notes the corpora carry. */
export function corpusFiles(dir: string): string[] {
  return filesUnder(dir).filter((p) => {
    const f = basename(p);
    return !/^(LICENSE|NOTICE|README)/.test(f) && f !== 'info';
  });
}
