import { describe, expect, it } from 'vitest';
import { base64DataProblem, headerValueProblem } from '../../config/secrets.ts';

describe('Secret data as the API server decodes it (Go base64.StdEncoding)', () => {
  it.each([
    ['empty', ''],
    ['padded to 4', 'YQ=='],
    ['one pad', 'YWI='],
    ['no pad needed', 'YWJj'],
    ['non-zero trailing bits (StdEncoding is not Strict)', 'manu'],
    ['line breaks, which Go skips', 'c2stcHJv\ndmlkZXI=\r\n'],
  ])('accepts %s', (_case, value) => {
    expect(base64DataProblem(value)).toBeUndefined();
  });

  it.each([
    ['missing padding', 'YQ', /2 characters, not a multiple of 4/],
    ['half padding', 'YQ=', /3 characters, not a multiple of 4/],
    ['padding where none belongs', 'YWJj=', /a "=" that is not end padding at offset 4/],
    ['data after the padding', 'YQ==YQ==', /data after the "=" padding at offset 4/],
    ['URL-safe alphabet', 'c2s_YWJj', /URL-safe base64 character .* at offset 3/],
    ['a space', 'YW Jj', /a space or tab at offset 2/],
    ['plain text', 'hello!', /a character outside the base64 alphabet at offset 5/],
  ])('refuses %s', (_case, value, message) => {
    expect(base64DataProblem(value)).toMatch(message);
  });

  it('never quotes the value it refuses', () => {
    expect(base64DataProblem('sk-secret!')).not.toMatch(/sk|secret|!/);
    expect(headerValueProblem('sk-clé')).not.toContain('é');
  });
});

describe('credential values in HTTP headers', () => {
  it.each([
    ['an API key', 'sk-proj-abc_DEF-123'],
    ['a tab inside', 'a\tb'],
  ])('accepts %s', (_case, value) => {
    expect(headerValueProblem(value)).toBeUndefined();
  });

  it.each([
    ['a trailing LF', 'sk-abc\n', /a line feed \(U\+000A\) at offset 6 \(a trailing newline/],
    ['a CR inside', 'sk\rabc', /a carriage return \(U\+000D\) at offset 2,/],
    ['a NUL', 'sk\0abc', /a NUL \(U\+0000\)/],
    ['DEL', 'sk\x7f', /a DEL \(U\+007F\)/],
    ['non-ASCII', 'sk-clé', /a non-ASCII character at offset 5/],
    ['leading whitespace', ' sk-abc', /begins or ends with whitespace/],
  ])('refuses %s', (_case, value, message) => {
    expect(headerValueProblem(value)).toMatch(message);
  });
});
