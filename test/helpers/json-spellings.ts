/**
 * fast-check arbitraries of the many ways JSON can spell one string: every character literal or escaped
 * (`\u0065` and `\u0045`-style hex in either case, `\/` for `/`, surrogate pairs for astral characters),
 * as a hostile client would write a key to slip past a matcher of raw bytes (RFC 8259 §7).
 */
import fc from 'fast-check';

function spellingsOf(char: string): string[] {
  const literal = JSON.stringify(char).slice(1, -1);
  const units = Array.from({ length: char.length }, (_, i) =>
    char.charCodeAt(i).toString(16).padStart(4, '0'),
  );
  const spellings = [
    literal,
    units.map((u) => `\\u${u}`).join(''),
    units.map((u) => `\\u${u.toUpperCase()}`).join(''),
  ];
  if (char === '/') spellings.push('\\/');
  return spellings;
}

/** JSON string tokens, quotes included, that decode to `text`. */
export function spelledString(text: string): fc.Arbitrary<string> {
  const chars = [...text];
  if (chars.length === 0) return fc.constant('""');
  return fc
    .tuple(...chars.map((char) => fc.constantFrom(...spellingsOf(char))))
    .map((parts) => `"${parts.join('')}"`);
}

/** `text` with every character escaped as \uXXXX: the spelling no literal matcher recognises. */
export function fullyEscaped(text: string): string {
  return `"${Array.from({ length: text.length }, (_, i) => `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;
}
