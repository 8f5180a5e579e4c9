/**
 * The zod schema of a workflow's JSON form. It mirrors the spec, except that node lists are called `steps`
 * everywhere (a loop's `body`, a branch arm's `nodes`), so a problem path reads the same in the JSON and in
 * the checks. It adds no defaults: an optional key stays absent, which keeps the round trip exact.
 */
import { z } from 'zod';
import { DATA_PATH_PATTERN, NAME_PATTERN } from './names.js';

const NAME_RULE = "Expected a name: a letter, then letters, digits, '_' or '-' (at most 128)";

/** Step, region, workflow and agent names. They become XState state keys, so the pattern is strict. */
const Name = z.string().regex(NAME_PATTERN, { error: NAME_RULE });

// A reference is a registered name or a data path, never code: the JSON form is data, and nothing in it is evaluated.
const REF_PATTERN = new RegExp(`(?:${NAME_PATTERN.source})|(?:${DATA_PATH_PATTERN.source})`);
const Ref = z.string().regex(REF_PATTERN, {
  error: 'Expected the name of a registered guard or mapping, or a data path such as results.step.field',
});

/** A JSON Schema document, kept as data here; `fromJSON` turns it into a zod schema. */
const JSONSchemaObject = z.record(z.string(), z.unknown());

const OnError = z.enum(['fail', 'skip', 'compensate']);
const Timeout = z.enum(['fail', 'skip']);

/** The JSON form of a {@link RetryPolicy}. */
export const RetryPolicyJSONSchema = z.strictObject({
  attempts: z.number(),
  backoff: z.enum(['exponential', 'fixed']).optional(),
  initialMs: z.number().optional(),
  maxMs: z.number().optional(),
  jitter: z.number().optional(),
  retryOn: z.array(z.string()).optional(),
});

/** The JSON form of an {@link EscalationPolicy}. */
export const EscalationPolicyJSONSchema = z.strictObject({
  to: Name,
  timeoutMs: z.number(),
  onTimeout: Timeout.optional(),
});

// The options of a step, shared by `step` nodes and a map's `step`. A getter defers the reference to the
// workflow schema, which is defined below and contains steps itself.
const stepOptionsShape = {
  agent: Name.optional(),
  get workflow(): z.ZodOptional<typeof WorkflowJSONSchema> {
    return WorkflowJSONSchema.optional();
  },
  input: Ref.optional(),
  retry: RetryPolicyJSONSchema.optional(),
  timeoutMs: z.number().optional(),
  fallback: Name.optional(),
  compensate: Name.optional(),
  escalate: z
    .union([z.literal(false), EscalationPolicyJSONSchema], {
      error: 'Expected `escalate` to be false or { to, timeoutMs, onTimeout? }',
    })
    .optional(),
  expectedMs: z.number().optional(),
  onError: OnError.optional(),
  description: z.string().optional(),
};

/** The options of a map's per-item step: a step without `kind` and `name`. */
export const StepOptionsJSONSchema = z.strictObject(stepOptionsShape);

/** An agent step. */
export const StepNodeJSONSchema = StepOptionsJSONSchema.extend({ kind: z.literal('step'), name: Name });

/** Regions that run at once. */
export const ParallelNodeJSONSchema = z.strictObject({
  kind: z.literal('parallel'),
  name: Name,
  get regions(): z.ZodRecord<typeof Name, z.ZodArray<typeof WorkflowNodeJSONSchema>> {
    return z.record(Name, z.array(WorkflowNodeJSONSchema));
  },
  failFast: z.boolean().optional(),
});

/** One guarded arm of a branch. */
export const BranchArmJSONSchema = z.strictObject({
  when: Ref,
  get steps(): z.ZodArray<typeof WorkflowNodeJSONSchema> {
    return z.array(WorkflowNodeJSONSchema);
  },
});

/** Guarded arms tried in order, then `otherwise`. */
export const BranchNodeJSONSchema = z.strictObject({
  kind: z.literal('branch'),
  name: Name,
  arms: z.array(BranchArmJSONSchema),
  get otherwise(): z.ZodOptional<z.ZodArray<typeof WorkflowNodeJSONSchema>> {
    return z.array(WorkflowNodeJSONSchema).optional();
  },
});

/** One step per item of a list. */
export const MapNodeJSONSchema = z.strictObject({
  kind: z.literal('map'),
  name: Name,
  items: Ref,
  step: StepOptionsJSONSchema,
  concurrency: z.number(),
});

/** A bounded cycle. */
export const LoopNodeJSONSchema = z.strictObject({
  kind: z.literal('loop'),
  name: Name,
  get steps(): z.ZodArray<typeof WorkflowNodeJSONSchema> {
    return z.array(WorkflowNodeJSONSchema);
  },
  until: Ref,
  maxIterations: z.number(),
  onMaxIterations: z.enum(['continue', 'fail']).optional(),
});

/** A wait for an outside event. */
export const WaitNodeJSONSchema = z.strictObject({
  kind: z.literal('wait'),
  name: Name,
  event: z.string(),
  schema: JSONSchemaObject.optional(),
  timeoutMs: z.number(),
  onTimeout: Timeout.optional(),
});

/** Any node, told apart by `kind`. */
export const WorkflowNodeJSONSchema = z.discriminatedUnion(
  'kind',
  [
    StepNodeJSONSchema,
    ParallelNodeJSONSchema,
    BranchNodeJSONSchema,
    MapNodeJSONSchema,
    LoopNodeJSONSchema,
    WaitNodeJSONSchema,
  ],
  { error: 'Expected `kind` to be one of step, parallel, branch, map, loop or wait' },
);

/**
 * The JSON form of a whole workflow: what `definition.toJSON()` returns and `fromJSON` accepts.
 *
 * @example
 * ```ts
 * const parsed = WorkflowJSONSchema.safeParse({ id: 'greet', steps: [{ kind: 'step', name: 'hello' }] });
 * ```
 */
export const WorkflowJSONSchema = z.strictObject({
  id: Name,
  description: z.string().optional(),
  onError: OnError.optional(),
  input: JSONSchemaObject.optional(),
  output: JSONSchemaObject.optional(),
  result: Ref.optional(),
  get steps(): z.ZodArray<typeof WorkflowNodeJSONSchema> {
    return z.array(WorkflowNodeJSONSchema);
  },
});

/** A JSON Schema document embedded in a workflow's JSON form. */
export type JSONSchemaObjectJSON = z.infer<typeof JSONSchemaObject>;
/** The JSON form of a retry policy. */
export type RetryPolicyJSON = z.infer<typeof RetryPolicyJSONSchema>;
/** The JSON form of an escalation policy. */
export type EscalationPolicyJSON = z.infer<typeof EscalationPolicyJSONSchema>;
/** The JSON form of step options (a map's `step`). */
export type StepOptionsJSON = z.infer<typeof StepOptionsJSONSchema>;
/** The JSON form of a step node. */
export type StepNodeJSON = z.infer<typeof StepNodeJSONSchema>;
/** The JSON form of a parallel node. */
export type ParallelNodeJSON = z.infer<typeof ParallelNodeJSONSchema>;
/** The JSON form of a branch arm. */
export type BranchArmJSON = z.infer<typeof BranchArmJSONSchema>;
/** The JSON form of a branch node. */
export type BranchNodeJSON = z.infer<typeof BranchNodeJSONSchema>;
/** The JSON form of a map node. */
export type MapNodeJSON = z.infer<typeof MapNodeJSONSchema>;
/** The JSON form of a loop node. */
export type LoopNodeJSON = z.infer<typeof LoopNodeJSONSchema>;
/** The JSON form of a wait node. */
export type WaitNodeJSON = z.infer<typeof WaitNodeJSONSchema>;
/** The JSON form of any node. */
export type WorkflowNodeJSON = z.infer<typeof WorkflowNodeJSONSchema>;
/** The JSON form of a whole workflow, as {@link WorkflowJSONSchema} parses it. */
export type WorkflowDocument = z.infer<typeof WorkflowJSONSchema>;
