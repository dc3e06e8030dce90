import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigProblem, formatProblem, problemAt } from '../../config/problems.ts';

const weight: ConfigProblem = {
  source: 'config/routes.yaml',
  document: 2,
  object: 'RouteConfig chat',
  path: 'spec.routes[1].weight',
  message: 'must be an integer between 0 and 1000000',
};

describe('formatProblem', () => {
  it('names file, document, object and field path', () => {
    expect(formatProblem(weight)).toBe(
      'config/routes.yaml (document 2) RouteConfig chat: spec.routes[1].weight: must be an integer between 0 and 1000000',
    );
  });

  it('leaves out the document number when the origin has none', () => {
    expect(formatProblem({ ...weight, document: 0 })).toBe(
      'config/routes.yaml RouteConfig chat: spec.routes[1].weight: must be an integer between 0 and 1000000',
    );
  });

  it('leaves out an empty field path', () => {
    expect(
      formatProblem({
        ...weight,
        object: 'document',
        path: '',
        message: 'YAML syntax error at line 3, column 1',
      }),
    ).toBe('config/routes.yaml (document 2) document: YAML syntax error at line 3, column 1');
  });
});

describe('problemAt', () => {
  it('copies file and document from the origin', () => {
    expect(problemAt({ source: 'a.yaml', document: 4 }, 'APIKey k', 'spec.secretRef', 'bad')).toEqual({
      source: 'a.yaml',
      document: 4,
      object: 'APIKey k',
      path: 'spec.secretRef',
      message: 'bad',
    });
  });
});

describe('ConfigError', () => {
  it('lists every problem, one per line, and keeps them for callers', () => {
    const other = {
      ...weight,
      document: 5,
      path: 'spec.routes[0].name',
      message: 'duplicate route name "a"',
    };
    const error = new ConfigError([weight, other]);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toEqual([weight, other]);
    expect(error.message.split('\n')).toEqual([
      'invalid configuration:',
      `  ${formatProblem(weight)}`,
      `  ${formatProblem(other)}`,
    ]);
  });
});
