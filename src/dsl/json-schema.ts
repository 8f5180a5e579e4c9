/**
 * The zod schema of a workflow's JSON form. It mirrors the spec, except that node lists are called `steps`
 * everywhere (a loop's `body`, a branch arm's `nodes`), so a problem path reads the same in the JSON and in
 * the checks. It adds no defaults: an optional key stays absent, which keeps the round trip exact.
 *
 * The schemas refer to each other as single objects, recursion through getters (zod reads them at the first
 * parse), so that `z.toJSONSchema` finds the recursion: a nested workflow is `$ref: '#'`.
 */
import { z } from 'zod';
import { DATA_PATH_PATTERN, NAME_PATTERN } from './names.js';

const NAME_RULE = "Expected a name: a letter, then letters, digits, '_' or '-' (at most 128)";

// A reference is a registered name or a data path, never code: the JSON form is data, and nothing in it is evaluated.
const REF_PATTERN = new RegExp(`(?:${NAME_PATTERN.source})|(?:${DATA_PATH_PATTERN.source})`);

/** Step, region, workflow and agent names. They become XState state keys, so the pattern is strict. */
const name = z.string().regex(NAME_PATTERN, { error: NAME_RULE });

const ref = z.string().regex(REF_PATTERN, {
  error: 'Expected the name of a registered guard or mapping, or a data path such as results.step.field',
});

/** A JSON Schema document, kept as data here; `fromJSON` turns it into a zod schema. */
const jsonSchemaObject = z.record(z.string(), z.unknown());

const onError = z.enum(['fail', 'skip', 'compensate']);
const onTimeout = z.enum(['fail', 'skip']);

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
  to: name,
  timeoutMs: z.number(),
  onTimeout: onTimeout.optional(),
});

/**
 * The options of a map's per-item step: a step without `kind` and `name`. Shared by `step` nodes and a map's
 * `step`; a getter defers the reference to the workflow schema, which contains steps itself.
 */
export const StepOptionsJSONSchema = z.strictObject({
  agent: name.optional(),
  get workflow(): z.ZodOptional<Workflow> {
    return WorkflowJSONSchema.optional();
  },
  input: ref.optional(),
  retry: RetryPolicyJSONSchema.optional(),
  timeoutMs: z.number().optional(),
  queue: name.optional(),
  fallback: name.optional(),
  compensate: name.optional(),
  escalate: z
    .union([z.literal(false), EscalationPolicyJSONSchema], {
      error: 'Expected `escalate` to be false or { to, timeoutMs, onTimeout? }',
    })
    .optional(),
  expectedMs: z.number().optional(),
  onError: onError.optional(),
  description: z.string().optional(),
});

/** An agent step. */
const StepNodeJSONSchema = StepOptionsJSONSchema.extend({ kind: z.literal('step'), name });

/** Regions that run at once. */
const ParallelNodeJSONSchema = z.strictObject({
  kind: z.literal('parallel'),
  name,
  get regions(): z.ZodRecord<z.ZodString, z.ZodArray<WorkflowNode>> {
    return z.record(name, z.array(WorkflowNodeJSONSchema));
  },
  failFast: z.boolean().optional(),
});

/** One guarded arm of a branch. */
const BranchArmJSONSchema = z.strictObject({
  when: ref,
  get steps(): z.ZodArray<WorkflowNode> {
    return z.array(WorkflowNodeJSONSchema);
  },
});

/** Guarded arms tried in order, then `otherwise`. */
const BranchNodeJSONSchema = z.strictObject({
  kind: z.literal('branch'),
  name,
  arms: z.array(BranchArmJSONSchema),
  get otherwise(): z.ZodOptional<z.ZodArray<WorkflowNode>> {
    return z.array(WorkflowNodeJSONSchema).optional();
  },
});

/** One step per item of a list. */
const MapNodeJSONSchema = z.strictObject({
  kind: z.literal('map'),
  name,
  items: ref,
  step: StepOptionsJSONSchema,
  concurrency: z.number(),
});

/** A bounded cycle. */
const LoopNodeJSONSchema = z.strictObject({
  kind: z.literal('loop'),
  name,
  get steps(): z.ZodArray<WorkflowNode> {
    return z.array(WorkflowNodeJSONSchema);
  },
  until: ref,
  maxIterations: z.number(),
  onMaxIterations: z.enum(['continue', 'fail']).optional(),
});

/** A wait for an outside event. */
const WaitNodeJSONSchema = z.strictObject({
  kind: z.literal('wait'),
  name,
  event: z.string(),
  schema: jsonSchemaObject.optional(),
  timeoutMs: z.number(),
  onTimeout: onTimeout.optional(),
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
  id: name,
  description: z.string().optional(),
  onError: onError.optional(),
  input: jsonSchemaObject.optional(),
  output: jsonSchemaObject.optional(),
  result: ref.optional(),
  /** Data paths of secret inputs (`input.password`): sealed or redacted wherever a checkpoint holds them. */
  secrets: z.array(z.string()).optional(),
  get steps(): z.ZodArray<WorkflowNode> {
    return z.array(WorkflowNodeJSONSchema);
  },
});

type WorkflowNode = typeof WorkflowNodeJSONSchema;
type Workflow = typeof WorkflowJSONSchema;

/** A JSON Schema document embedded in a workflow's JSON form. */
export type JSONSchemaObjectJSON = z.infer<typeof jsonSchemaObject>;
/** The JSON form of a retry policy. */
export type RetryPolicyJSON = z.infer<typeof RetryPolicyJSONSchema>;
/** The JSON form of an escalation policy. */
export type EscalationPolicyJSON = z.infer<typeof EscalationPolicyJSONSchema>;
/** The JSON form of step options (a map's `step`). */
export type StepOptionsJSON = z.infer<typeof StepOptionsJSONSchema>;
/** The JSON form of any node. */
export type WorkflowNodeJSON = z.infer<typeof WorkflowNodeJSONSchema>;
/** The JSON form of a whole workflow, as {@link WorkflowJSONSchema} parses it. */
export type WorkflowDocument = z.infer<typeof WorkflowJSONSchema>;
