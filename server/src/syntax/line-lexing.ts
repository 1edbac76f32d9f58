// Pieces the line-oriented lexers share (iptables, iproute2/ipset): tokens that mean something only at
// the start of a line, and double-quoted words.
import type { CustomPatternMatcherFunc } from 'chevrotain';

export function atLineStart(text: string, offset: number): boolean {
  for (let i = offset - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 10) return true;
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** A Chevrotain matcher for `re` only at the start of a line; `firstChar` (a char code) is a cheap pre-check. */
export function lineStartPattern(re: RegExp, firstChar?: number): CustomPatternMatcherFunc {
  const sticky = new RegExp(re.source, 'y');
  return (text, offset) => {
    if ((firstChar !== undefined && text.charCodeAt(offset) !== firstChar) || !atLineStart(text, offset)) return null;
    sticky.lastIndex = offset;
    return sticky.exec(text);
  };
}

/** The value of a double-quoted word (an unterminated one runs to its end); backslash escapes resolved. */
export function unquote(image: string): string {
  if (image.charCodeAt(0) !== 34) return image;
  const body = image.length > 1 && image.endsWith('"') ? image.slice(1, -1) : image.slice(1);
  return body.indexOf('\\') < 0 ? body : body.replace(/\\(.)/g, '$1');
}
