/**
 * SessionStore on its own: a session ends at its lifetime and as soon as the admin token it was opened
 * with is no longer the one in force (a rotated Secret); the actor label is stable per session and
 * reveals nothing of the id.
 */
import { describe, expect, it } from 'vitest';
import { readCookie, SessionStore, sessionCookie } from '../../console/session.ts';

describe('SessionStore', () => {
  it('ends a session at its lifetime', () => {
    let now = 1_000;
    const sessions = new SessionStore({ ttlMs: 60_000, now: () => now });
    const { id, session } = sessions.open('token-1');
    expect(sessions.find(id, 'token-1')).toBe(session);
    now += 59_999;
    expect(sessions.find(id, 'token-1')).toBe(session);
    now += 1;
    expect(sessions.find(id, 'token-1')).toBeUndefined();
  });

  it('ends a session once the admin token changes, even if it changes back', () => {
    const sessions = new SessionStore();
    const { id } = sessions.open('token-1');
    expect(sessions.find(id, 'token-2')).toBeUndefined();
    expect(sessions.find(id, 'token-1')).toBeUndefined();
    const again = sessions.open('token-1');
    expect(sessions.find(again.id, undefined)).toBeUndefined();
  });

  it('names sessions by an HMAC prefix: distinct per session, never the id or its start', () => {
    const sessions = new SessionStore();
    const a = sessions.open('t');
    const b = sessions.open('t');
    expect(a.session.actor).toMatch(/^session:[0-9a-f]{8}$/);
    expect(a.session.actor).not.toBe(b.session.actor);
    expect(a.id).not.toContain(a.session.actor.slice(8));
    expect(a.session.csrfToken).not.toBe(b.session.csrfToken);
    expect(sessions.find('made-up', 't')).toBeUndefined();
  });

  it('reads its cookie back from a Cookie header among others', () => {
    const cookie = sessionCookie('abc_DEF-123', 3_600_000).split(';')[0]!;
    expect(readCookie(`theme=dark; ${cookie}; other=1`)).toBe('abc_DEF-123');
    expect(readCookie('agent_router_session_x=1')).toBeUndefined();
    expect(readCookie(undefined)).toBeUndefined();
  });
});
