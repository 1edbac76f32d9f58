// PLACEHOLDER: the language server lands with the LSP issue.
export {};
