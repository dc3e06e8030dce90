/**
 * Request Logs paging: a keyset cursor over (time, id), the order `requests` returns. The next page is
 * "strictly older than the last row shown", so rows inserted while a client pages (newer ones, as
 * records arrive) shift nothing: no row is shown twice and none between pages is skipped. A record that
 * arrives late with an old time lands wherever its time puts it, like any keyset page.
 */

export interface CursorPosition {
  time: number;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.time, position.id])).toString('base64url');
}

/** RangeError for anything that is not a cursor this module made. */
export function decodeCursor(cursor: string): CursorPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new RangeError('invalid cursor');
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !Number.isFinite(value[0]) ||
    typeof value[1] !== 'string'
  )
    throw new RangeError('invalid cursor');
  return { time: value[0] as number, id: value[1] };
}
