/**
 * A step option the builder does not know is refused at build(), as the JSON form refuses it (found by a new user:
 * `retires: 3` in JavaScript was dropped without a word, so the step ran once). Same code and path both ways.
 */
import { describe, expect, it } from 'vitest';
import {
  EscalationPolicyJSONSchema,
  RetryPolicyJSONSchema,
  StepOptionsJSONSchema,
} from '../../src/dsl/json-schema.js';
import { ESCALATION_POLICY_KEYS, RETRY_POLICY_KEYS, STEP_OPTION_KEYS } from '../../src/dsl/option-keys.js';
import { type DefinitionProblem, WorkflowDefinitionError, workflow } from '../../src/index.js';
import { fromJSON } from '../../src/json.js';

function problemsOf(build: () => unknown): readonly DefinitionProblem[] {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowDefinitionError);
    return (error as WorkflowDefinitionError).problems;
  }
  throw new Error('expected a WorkflowDefinitionError');
}

describe('unknown keys in the builder’s step options', () => {
  it('refuses a typo in a step’s options (held in a variable: TypeScript lets it through), naming the key and the step', () => {
    const options = { agent: 'loader', retires: 3 };
    const problems = problemsOf(() => workflow('w').step('load', options).build());
    expect(problems).toEqual([
      {
        code: 'unrecognized_keys',
        path: ['steps', 0, 'retires'],
        message: `Unknown key 'retires' in the options of step 'load' (known: ${STEP_OPTION_KEYS.join(', ')})`,
      },
    ]);
    expect(() => workflow('w').step('load', options).build()).toThrow(
      /steps\[0\]\.retires: Unknown key 'retires'/,
    );
  });

  it('refuses a typo in a retry policy, an escalation and a map’s step, with their paths', () => {
    const retry = { attempts: 3, backof: 'fixed' } as never;
    const escalate = { to: 'human', timeoutMs: 1000, onTimout: 'skip' } as never;
    const step = { agent: 'check', timeoutMS: 5 } as never;
    const problems = problemsOf(() =>
      workflow('w')
        .step('a', { retry })
        .step('b', { escalate })
        .map('m', { items: 'input.list', step, concurrency: 2 })
        .build(),
    );
    expect(problems.map((p) => [p.code, p.path.join('.'), p.message.split(' (')[0]])).toEqual([
      ['unrecognized_keys', 'steps.0.retry.backof', "Unknown key 'backof' in the retry policy of step 'a'"],
      [
        'unrecognized_keys',
        'steps.1.escalate.onTimout',
        "Unknown key 'onTimout' in the escalation of step 'b'",
      ],
      [
        'unrecognized_keys',
        'steps.2.step.timeoutMS',
        "Unknown key 'timeoutMS' in the options of the step of map 'm'",
      ],
    ]);
  });

  it('gives the JSON form’s code and path for the same typo', () => {
    const fromBuilder = problemsOf(() =>
      workflow('w')
        .step('load', { agent: 'loader', retires: 3 } as never)
        .build(),
    );
    const fromJson = problemsOf(() =>
      fromJSON({ id: 'w', steps: [{ kind: 'step', name: 'load', agent: 'loader', retires: 3 }] }),
    );
    expect(fromBuilder.map((p) => [p.code, p.path])).toEqual(fromJson.map((p) => [p.code, p.path]));
  });

  it('knows the keys the JSON form’s schemas know, no more, no fewer', () => {
    const keys = (shape: object) => Object.keys(shape).sort();
    expect([...STEP_OPTION_KEYS].sort()).toEqual(keys(StepOptionsJSONSchema.shape));
    expect([...RETRY_POLICY_KEYS].sort()).toEqual(keys(RetryPolicyJSONSchema.shape));
    expect([...ESCALATION_POLICY_KEYS].sort()).toEqual(keys(EscalationPolicyJSONSchema.shape));
  });
});
