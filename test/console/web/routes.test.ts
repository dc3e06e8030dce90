import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../../console/web/src/routes.ts';

describe('console page routes', () => {
  it('maps each path to its page and decodes its parameter', () => {
    expect(matchRoute('/')).toEqual({ page: 'logs' });
    expect(matchRoute('/logs')).toEqual({ page: 'logs' });
    expect(matchRoute('/usage')).toEqual({ page: 'usage' });
    expect(matchRoute('/experiments')).toEqual({ page: 'experiments' });
    expect(matchRoute('/experiments/chat%2Fmodel')).toEqual({ page: 'experiments', param: 'chat/model' });
    expect(matchRoute('/keys/team-a')).toEqual({ page: 'key', param: 'team-a' });
    expect(matchRoute('/routing/default')).toEqual({ page: 'routeconfig', param: 'default' });
    expect(matchRoute('/mcp-servers')).toEqual({ page: 'mcp-servers' });
  });

  it('answers not-found for unknown paths and broken percent-encoding', () => {
    expect(matchRoute('/nope')).toEqual({ page: 'not-found' });
    expect(matchRoute('/keys/a/b')).toEqual({ page: 'not-found' });
    expect(matchRoute('/keys/%E0%A4%A')).toEqual({ page: 'not-found' });
  });
});
