import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fromJSON } from '../../src/dsl/json.js';
import { type DefinitionProblem, WorkflowDefinitionError } from '../../src/model/errors.js';

const HOSTILE = ['^(a+)+$', '(a|aa)+$', '(\\w+\\s?)*$', '^(a|a)*$', '^(\\d+)*$', '([a-z]+)*x', '(.*a){12}'];
const ORDINARY = [
  '^[a-z0-9_]+$',
  '^\\d{4}-\\d{2}-\\d{2}$',
  '^[^@]+@[^@]+$',
  '^[A-Z]{2}$',
  '^https?://',
  '^[a-zA-Z][a-zA-Z0-9_-]{0,127}$',
  '^(?:[a-z]+\\.)*[a-z]+$',
  '^(\\+|-)?\\d+(\\.\\d+)?$',
];

const steps = [{ kind: 'step', name: 's', agent: 's' }];

/** A workflow whose input has one string field `name` with `pattern`. */
function withPattern(pattern: unknown) {
  return { id: 'w', input: { type: 'object', properties: { name: { type: 'string', pattern } } }, steps };
}

function problemsOf(read: () => unknown): DefinitionProblem[] {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowDefinitionError);
    return [...(error as WorkflowDefinitionError).problems];
  }
  throw new Error('expected a WorkflowDefinitionError');
}

const brief = (problems: DefinitionProblem[]) => problems.map((p) => `${p.code} ${p.path.join('.')}`);

describe('patterns in JSON Schemas from outside', () => {
  it('loads the ReDoS checker only when a definition holds a pattern', () => {
    const require = createRequire(import.meta.url);
    const loaded = () => require.cache[require.resolve('recheck')] !== undefined;
    fromJSON({ id: 'w', input: { type: 'object', properties: { a: { type: 'string' } } }, steps });
    expect(loaded()).toBe(false);
    fromJSON(withPattern('^[a-z]+$'));
    expect(loaded()).toBe(true);
  });

  it.each(HOSTILE)('refuses %s at its path, from analysis alone (nothing timed)', (pattern) => {
    const problems = problemsOf(() => fromJSON(withPattern(pattern)));
    expect(brief(problems)).toEqual(['unsafe-pattern input.properties.name.pattern']);
    expect(problems[0]!.message).toMatch(/(exponential|polynomial).*ReDoS/);
  });

  it.each(ORDINARY)('accepts %s, and the schema validates with it', (pattern) => {
    const def = fromJSON(withPattern(pattern));
    const input = def.spec.options.input!;
    expect(input.safeParse({ name: '\u0000 no match \u0000' }).success).toBe(false);
    expect(def.toJSON()).toStrictEqual(withPattern(pattern));
  });

  it('accepts look-around, which the checker decides by fuzzing', () => {
    expect(() => fromJSON(withPattern('^(?=.*\\d)[a-z\\d]{8,}$'))).not.toThrow();
  });

  it('finds patterns wherever zod reads a schema, in every embedded schema and child workflow', () => {
    const bad = '^(a+)+$';
    const doc = {
      id: 'w',
      input: {
        type: 'object',
        properties: {
          // A property may be called like a data keyword: its value is still a schema.
          default: { type: 'string', pattern: bad },
          tags: { type: 'array', items: { type: 'string', pattern: bad } },
          either: { anyOf: [{ type: 'number' }, { type: 'string', pattern: bad }] },
          map: { type: 'object', patternProperties: { [bad]: { type: 'string' } } },
          keys: { type: 'object', propertyNames: { pattern: bad } },
          fine: { type: 'string', pattern: '^ok$' },
        },
        // Instance data: a `pattern` here is never compiled.
        default: { pattern: bad },
        examples: [{ pattern: bad }],
      },
      output: { type: 'object', $defs: { d: { type: 'string', pattern: bad } } },
      steps: [
        {
          kind: 'wait',
          name: 'w',
          event: 'e',
          timeoutMs: 1,
          schema: { type: 'object', properties: { by: { type: 'string', pattern: bad } } },
        },
        {
          kind: 'step',
          name: 'child',
          workflow: { id: 'inner', input: { type: 'string', pattern: bad }, steps },
        },
      ],
    };
    expect(brief(problemsOf(() => fromJSON(doc)))).toEqual([
      'unsafe-pattern input.properties.default.pattern',
      'unsafe-pattern input.properties.tags.items.pattern',
      'unsafe-pattern input.properties.either.anyOf.1.pattern',
      `unsafe-pattern input.properties.map.patternProperties.${bad}`,
      'unsafe-pattern input.properties.keys.propertyNames.pattern',
      'unsafe-pattern output.$defs.d.pattern',
      'unsafe-pattern steps.0.schema.properties.by.pattern',
      'unsafe-pattern steps.1.workflow.input.pattern',
    ]);
  });

  it('bounds the length of a pattern', () => {
    expect(() => fromJSON(withPattern(`^${'a'.repeat(998)}$`))).not.toThrow();
    const problems = problemsOf(() => fromJSON(withPattern(`^${'a'.repeat(999)}$`)));
    expect(brief(problems)).toEqual(['pattern-too-long input.properties.name.pattern']);
    expect(problems[0]!.message).toContain('at most 1000');
  });

  it('refuses a pattern that is not a string or does not compile', () => {
    // `new RegExp(['(a+)+$'])` would read the array as its one string.
    expect(brief(problemsOf(() => fromJSON(withPattern(['^(a+)+$']))))).toEqual([
      'invalid-pattern input.properties.name.pattern',
    ]);
    const problems = problemsOf(() => fromJSON(withPattern('(')));
    expect(brief(problems)).toEqual(['invalid-json-schema input']);
    expect(problems[0]!.message).toMatch(/Invalid regular expression/);
  });

  it('reports a pattern each time it appears, and answers the same when asked again', () => {
    const doc = {
      id: 'w',
      input: {
        type: 'object',
        properties: {
          a: { type: 'string', pattern: '(a|aa)+$' },
          b: { type: 'string', pattern: '(a|aa)+$' },
        },
      },
      steps,
    };
    const expected = [
      'unsafe-pattern input.properties.a.pattern',
      'unsafe-pattern input.properties.b.pattern',
    ];
    expect(brief(problemsOf(() => fromJSON(doc)))).toEqual(expected);
    expect(brief(problemsOf(() => fromJSON(JSON.stringify(doc))))).toEqual(expected);
  });
});
