// Open documents and their analyses. A document is analysed at most once per version, on first use.
import type { ParseOptions } from '../parse';
import { analyzeDocument, type DocumentAnalysis } from './document';

interface Entry {
  text: string;
  version: number;
  languageId?: string;
  analysis?: DocumentAnalysis;
}

export class AnalysisHost {
  private docs = new Map<string, Entry>();

  set(uri: string, text: string, version: number, languageId?: string): void {
    const old = this.docs.get(uri);
    this.docs.set(uri, { text, version, languageId: languageId ?? old?.languageId });
  }

  remove(uri: string): void {
    this.docs.delete(uri);
  }

  has(uri: string): boolean {
    return this.docs.has(uri);
  }

  get(uri: string): DocumentAnalysis | undefined {
    const e = this.docs.get(uri);
    if (!e) return undefined;
    if (!e.analysis || e.analysis.version !== e.version) {
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
}

/** The editor's language decides only a tie: content detection wins (a `.rules` file may hold nft). */
export function parseOptionsFor(languageId: string | undefined): ParseOptions {
  if (languageId === 'nftables') return { hint: 'nft' };
  return {};
}
