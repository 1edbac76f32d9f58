// Open documents and their analyses. A document is analysed at most once per version, on first use.
//
// Analysis is cooperative: a version's analysis runs as a generator (analyzeDocumentSteps) driven a step
// (≈25 ms) at a time, with a turn of the event loop in between, so a 750 000-line dump never blocks the
// server for more than a step. What callers see:
// - `await analysis(uri, token)` answers from the current version's analysis, waiting for it if it is still
//   running (or starting it). A newer version (`set`) or a close (`remove`) abandons the running one at its
//   next step (`return()` on the generator); waiters then wait for the newer version, or get undefined after
//   a close. A cancelled token rejects the wait with AnalysisCancelled; the analysis itself goes on (the
//   diagnostics still want it).
// - Other documents answer at once: each document has its own run.
// - A new version drops the previous analysis at once (requests wait for the new one anyway), so a huge
//   document never holds two full analyses.
import type { ParseOptions } from '../parse';
import { analyzeDocument, analyzeDocumentSteps, type DocumentAnalysis, type DocumentProgress } from './document';

/** The part of a cancellation token the host reads (vscode-jsonrpc's CancellationToken fits). */
export interface CancelToken {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/** Thrown by `analysis` when the caller's token is cancelled while it waits. */
export class AnalysisCancelled extends Error {
  constructor() {
    super('request cancelled');
  }
}

/** What the host tells its owner (the language server turns these into progress and diagnostics). */
export interface HostEvents {
  onStart?(uri: string, version: number): void;
  onProgress?(uri: string, version: number, p: DocumentProgress): void;
  /** `analysis` is set when the version's analysis completed; undefined when it was abandoned or failed. */
  onEnd?(uri: string, version: number, analysis: DocumentAnalysis | undefined): void;
  onError?(uri: string, version: number, e: unknown): void;
  /** An analysis (finished, or abandoned part way) of a text this long was let go: a moment to collect it. */
  onDropped?(uri: string, textLength: number): void;
}

interface Run {
  version: number;
  abandoned: boolean;
  done: Promise<DocumentAnalysis | undefined>;
}

interface Entry {
  text: string;
  version: number;
  languageId?: string;
  analysis?: DocumentAnalysis;
  run?: Run;
  /** A version whose analysis threw: not retried (it would throw again). */
  failed?: number;
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

export class AnalysisHost {
  private docs = new Map<string, Entry>();

  constructor(private readonly events: HostEvents = {}) {}

  set(uri: string, text: string, version: number, languageId?: string): void {
    const old = this.docs.get(uri);
    if (old?.run) old.run.abandoned = true;
    this.docs.set(uri, { text, version, languageId: languageId ?? old?.languageId });
    // An abandoned run reports when it stops; a finished analysis is let go here.
    if (old?.analysis && !old.run) this.events.onDropped?.(uri, old.text.length);
  }

  remove(uri: string): void {
    const e = this.docs.get(uri);
    if (e?.run) e.run.abandoned = true;
    this.docs.delete(uri);
    if (e?.analysis && !e.run) this.events.onDropped?.(uri, e.text.length);
  }

  has(uri: string): boolean {
    return this.docs.has(uri);
  }

  uris(): string[] {
    return [...this.docs.keys()];
  }

  /** The version the host holds for `uri`. */
  version(uri: string): number | undefined {
    return this.docs.get(uri)?.version;
  }

  /** The current version's analysis if it is done; never starts or waits for one. */
  current(uri: string): DocumentAnalysis | undefined {
    const e = this.docs.get(uri);
    return e?.analysis && e.analysis.version === e.version ? e.analysis : undefined;
  }

  /** True while the current version of `uri` is being analysed. */
  analysing(uri: string): boolean {
    return !!this.docs.get(uri)?.run;
  }

  /** The current version's analysis, analysed in steps (started if need be); undefined once the document
   *  is closed. Rejects with AnalysisCancelled when `token` is cancelled first. */
  async analysis(uri: string, token?: CancelToken): Promise<DocumentAnalysis | undefined> {
    for (;;) {
      if (token?.isCancellationRequested) throw new AnalysisCancelled();
      const e = this.docs.get(uri);
      if (!e) return undefined;
      if (e.analysis && e.analysis.version === e.version) return e.analysis;
      if (e.failed === e.version) return undefined;
      const run = e.run ?? this.start(uri, e);
      await cancellable(run.done, token);
      // Abandoned for a newer version, or done: look again at what the document is now.
    }
  }

  /** Sync analysis (the whole document in one go): for callers outside the server. A running stepwise
   *  analysis of the same version is abandoned in favour of this one. */
  get(uri: string): DocumentAnalysis | undefined {
    const e = this.docs.get(uri);
    if (!e) return undefined;
    if (!e.analysis || e.analysis.version !== e.version) {
      if (e.run) e.run.abandoned = true;
      e.analysis = analyzeDocument(uri, e.text, e.version, parseOptionsFor(e.languageId));
    }
    return e.analysis;
  }

  *all(): Iterable<DocumentAnalysis> {
    for (const uri of this.docs.keys()) {
      const a = this.get(uri);
      if (a) yield a;
    }
  }

  private start(uri: string, e: Entry): Run {
    const run: Run = { version: e.version, abandoned: false, done: Promise.resolve(undefined) };
    e.run = run;
    run.done = this.drive(uri, e, run);
    return run;
  }

  private async drive(uri: string, e: Entry, run: Run): Promise<DocumentAnalysis | undefined> {
    const steps = analyzeDocumentSteps(uri, e.text, e.version, parseOptionsFor(e.languageId));
    let result: DocumentAnalysis | undefined;
    this.events.onStart?.(uri, run.version);
    try {
      for (;;) {
        // A turn of the event loop before every step: incoming messages are read and served here.
        await nextTurn();
        if (run.abandoned) {
          steps.return(undefined as never);
          this.events.onDropped?.(uri, e.text.length);
          break;
        }
        const r = steps.next();
        if (r.done) {
          result = r.value;
          break;
        }
        this.events.onProgress?.(uri, run.version, r.value);
      }
    } catch (err) {
      e.failed = run.version;
      this.events.onError?.(uri, run.version, err);
    }
    if (e.run === run) e.run = undefined;
    if (run.abandoned) result = undefined;
    // `e` may have been replaced or removed meanwhile: then nobody reads what is stored on it.
    if (result && !(e.analysis && e.analysis.version === e.version)) e.analysis = result;
    this.events.onEnd?.(uri, run.version, result);
    return result;
  }
}

function cancellable<T>(p: Promise<T>, token: CancelToken | undefined): Promise<T> {
  if (!token) return p;
  return new Promise<T>((resolve, reject) => {
    const sub = token.onCancellationRequested(() => reject(new AnalysisCancelled()));
    p.then(
      (v) => { sub.dispose(); resolve(v); },
      (err) => { sub.dispose(); reject(err); },
    );
  });
}

/** The editor's language decides only a tie: content detection wins (a `.rules` file may hold nft). */
export function parseOptionsFor(languageId: string | undefined): ParseOptions {
  if (languageId === 'nftables') return { hint: 'nft' };
  return {};
}
