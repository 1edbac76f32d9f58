// Small generated rulesets shared by tests.

/** INPUT jumps to C0, and each Ci to Ci+1 with `verb` (-j or -g): `depth` nested jumps from INPUT. */
export function deepChain(depth: number, verb = '-j'): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]'];
  for (let i = 0; i < depth; i++) lines.push(`:C${i} - [0:0]`);
  lines.push('-A INPUT -j C0');
  for (let i = 0; i < depth - 1; i++) lines.push(`-A C${i} ${verb} C${i + 1}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}
