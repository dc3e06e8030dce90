import { describe, expect, it } from 'vitest';
import { credentialParameter, pathOnly } from '../../ext-proc/request-path.ts';

describe('pathOnly', () => {
  it('drops the query and a fragment, and leaves a bare path as it is', () => {
    expect(pathOnly('/v1/chat/completions?key=sk-1&alt=sse')).toBe('/v1/chat/completions');
    expect(pathOnly('/v1/chat/completions#frag?x')).toBe('/v1/chat/completions');
    expect(pathOnly('/v1/embeddings')).toBe('/v1/embeddings');
    expect(pathOnly('/v1/models?')).toBe('/v1/models');
  });
});

describe('credentialParameter', () => {
  it('names the credential parameter, whatever its case or percent-encoding', () => {
    expect(credentialParameter('/v1/chat/completions?key=sk-1')).toBe('key');
    expect(credentialParameter('/v1/chat/completions?alt=sse&API_KEY=sk-1')).toBe('api_key');
    expect(credentialParameter('/v1/chat/completions?%61ccess_token=t')).toBe('access_token');
    expect(credentialParameter('/v1/chat/completions?api-key')).toBe('api-key');
  });

  it('lets other parameters pass, including ones whose value or name only contains "key"', () => {
    expect(credentialParameter('/v1/chat/completions')).toBeUndefined();
    expect(credentialParameter('/v1/chat/completions?alt=sse&trace=key')).toBeUndefined();
    expect(credentialParameter('/v1/chat/completions?monkey=1&keys=2')).toBeUndefined();
    expect(credentialParameter('/v1/chat/completions#key=1')).toBeUndefined();
  });

  it('reads a malformed percent-encoding as it is instead of failing', () => {
    expect(credentialParameter('/v1/chat/completions?%E0%A4%A=1&key=2')).toBe('key');
  });
});
