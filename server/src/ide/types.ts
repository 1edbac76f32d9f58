// Plain data the IDE layer answers with, in editor terms. The LSP layer maps these to protocol types;
// nothing here knows LSP or JSON.
import type { Range } from '../model/ruleset';

export interface Location {
  uri: string;
  range: Range;
}

export interface TextEdit {
  range: Range;
  newText: string;
}

export type SymbolKind = 'table' | 'chain' | 'rule' | 'set' | 'variable';

export interface SymbolItem {
  name: string;
  detail?: string;
  kind: SymbolKind;
  range: Range;
  selectionRange: Range;
  children: SymbolItem[];
}

export interface WorkspaceSymbolItem {
  name: string;
  kind: SymbolKind;
  containerName?: string;
  location: Location;
}

export interface FoldingItem {
  startLine: number;
  endLine: number;
  kind?: 'comment' | 'region';
}

export type HighlightKind = 'read' | 'write' | 'text';

export interface HighlightItem {
  range: Range;
  kind: HighlightKind;
}

export type CompletionKind = 'module' | 'target' | 'chain' | 'keyword' | 'value' | 'option' | 'set' | 'variable';

export interface CompletionEntry {
  label: string;
  kind: CompletionKind;
  detail?: string;
  documentation?: string;
  /** The text the completion replaces (the partial word under the cursor). */
  replaceRange: Range;
  sortText?: string;
}

export interface HoverResult {
  markdown: string;
  range: Range;
}

export const SEMANTIC_TOKEN_TYPES = ['namespace', 'function', 'keyword', 'type', 'parameter', 'number', 'macro', 'variable', 'string'] as const;
export type SemanticTokenType = (typeof SEMANTIC_TOKEN_TYPES)[number];
export const SEMANTIC_TOKEN_MODIFIERS = ['declaration', 'defaultLibrary', 'modification'] as const;
export type SemanticTokenModifier = (typeof SEMANTIC_TOKEN_MODIFIERS)[number];

export interface SemanticToken {
  line: number;
  character: number;
  length: number;
  type: SemanticTokenType;
  modifiers: SemanticTokenModifier[];
}

export type RenameResult = { edits: TextEdit[] } | { error: string };
