/**
 * Agents that check what they receive and what they return: a template's steps pass plain JSON between them, and
 * a malformed value should fail the step that got it, with the zod path of each problem, not a later one.
 */
import type { ZodType } from 'zod';
import { type AgentContext, type AgentFunction, ConfigurationError } from '../../src/index.js';

/** An agent got or produced data that does not match its schema. Not retried: the same data would fail again. */
class AgentDataError extends Error {
  /** Read by the engine's retry policy. */
  readonly retryable = false;
  readonly code = 'AGENT_DATA_INVALID';
  /** `path: message` of each problem. */
  readonly issues: readonly string[];
  constructor(side: 'input' | 'output', agent: string, issues: readonly string[]) {
    super(
      `Agent '${agent}' ${side === 'input' ? 'received' : 'returned'} invalid data: ${issues.join('; ')}`,
    );
    this.name = 'AgentDataError';
    this.issues = issues;
  }
}

/** What {@link defineAgent} takes. */
export interface AgentSpec<I, O> {
  /** For error messages. */
  readonly name: string;
  readonly input: ZodType<I>;
  readonly output: ZodType<O>;
  readonly run: (input: I, ctx: AgentContext) => Promise<O> | O;
}

/**
 * An agent function that parses its input with `spec.input`, runs, and parses its result with `spec.output`.
 *
 * @example
 * ```ts
 * const count = defineAgent({ name: 'count', input: z.object({ table: z.string() }), output: z.number(), run: ... });
 * ```
 */
export function defineAgent<I, O>(spec: AgentSpec<I, O>): AgentFunction<unknown, O> {
  return async (raw, ctx) => {
    const input = spec.input.safeParse(raw);
    if (!input.success) throw new AgentDataError('input', spec.name, describe(input.error.issues));
    let result: O;
    try {
      result = await spec.run(input.data, ctx);
    } catch (error) {
      // A configuration problem (an unknown schema, table or column) fails the same way on every attempt.
      if (error instanceof ConfigurationError) Object.defineProperty(error, 'retryable', { value: false });
      throw error;
    }
    const output = spec.output.safeParse(result);
    if (!output.success) throw new AgentDataError('output', spec.name, describe(output.error.issues));
    return output.data;
  };
}

function describe(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.slice(0, 10).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}
