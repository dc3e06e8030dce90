import type { LocatedManifest, SecretManifest } from './manifests.ts';

/**
 * Whether a Secret `data` value is what the API server accepts, and if not, why. `data` is a Go `[]byte`
 * map, which encoding/json decodes with `base64.StdEncoding` (https://pkg.go.dev/encoding/json#Unmarshal):
 * the standard alphabet `A–Z a–z 0–9 + /`, `=` padding to a multiple of 4, and CR/LF skipped
 * (https://pkg.go.dev/encoding/base64#Encoding.Decode). So URL-safe `-`/`_`, missing padding, spaces and
 * plain text are refused ("illegal base64 data at input byte N", kubernetes/kubernetes#7817, #31548).
 * StdEncoding is not `.Strict()`, so non-zero trailing bits ("manu") pass, as they do there.
 */
export function base64DataProblem(value: string): string | undefined {
  let digits = 0;
  let padding = 0;
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if (c === 0x0a || c === 0x0d) continue;
    const inAlphabet =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2f;
    if (inAlphabet && padding === 0) {
      digits += 1;
      continue;
    }
    if (c === 0x3d && padding < 2 && digits % 4 >= 2) {
      padding += 1;
      continue;
    }
    // What kind of character, never which: the value is secret material.
    const what = inAlphabet
      ? 'data after the "=" padding'
      : c === 0x2d || c === 0x5f
        ? 'a URL-safe base64 character ("-" or "_"; Kubernetes reads the standard alphabet with "+" and "/")'
        : c === 0x3d
          ? 'a "=" that is not end padding'
          : c === 0x20 || c === 0x09
            ? 'a space or tab'
            : 'a character outside the base64 alphabet';
    return `is not valid base64: ${what} at offset ${i} (plain text belongs in stringData)`;
  }
  if ((digits + padding) % 4 !== 0) {
    return `is not valid base64: ${digits + padding} characters, not a multiple of 4; padding "=" is missing or incomplete`;
  }
  return undefined;
}

/**
 * Why a credential value (gateway key or provider key) cannot travel in an HTTP header, if it cannot.
 * A field value is visible ASCII, spaces and tabs, with no whitespace at either end (RFC 9110 §5.5);
 * Node refuses CR, LF, NUL and other controls (ERR_INVALID_CHAR) and sends any other character as one
 * Latin-1 byte, not as the UTF-8 the Secret holds, so neither can reach the other side as written.
 */
export function headerValueProblem(value: string): string | undefined {
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if (c === 0x09 || (c >= 0x20 && c <= 0x7e)) continue;
    // A control character is named; any other is not, since it is part of the secret.
    const control = c < 0x20 || c === 0x7f;
    const name = control
      ? `${CONTROL_NAMES[c] ?? 'a control character'} (U+${c.toString(16).toUpperCase().padStart(4, '0')})`
      : 'a non-ASCII character';
    const hint =
      (c === 0x0a || c === 0x0d) && i >= value.length - 2
        ? ' (a trailing newline, as `echo` without -n adds before base64)'
        : '';
    return `holds ${name} at offset ${i}${hint}, which an HTTP header cannot carry`;
  }
  if (/^[ \t]|[ \t]$/.test(value))
    return 'begins or ends with whitespace, which HTTP strips from a header value';
  return undefined;
}

const CONTROL_NAMES: Record<number, string> = {
  0: 'a NUL',
  10: 'a line feed',
  13: 'a carriage return',
  127: 'a DEL',
};

/** A Secret's value for `key`: `stringData` as written, `data` base64-decoded (Kubernetes semantics). */
export function secretString(secret: SecretManifest, key: string): string | undefined {
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

export function secretLookup(manifests: readonly LocatedManifest[]) {
  const secrets = new Map<string, SecretManifest>();
  for (const { manifest } of manifests) {
    if (manifest.kind === 'Secret')
      secrets.set(`${manifest.metadata.namespace}/${manifest.metadata.name}`, manifest);
  }
  return (namespace: string, name: string, key: string): string | undefined => {
    const secret = secrets.get(`${namespace}/${name}`);
    return secret ? secretString(secret, key) : undefined;
  };
}
