/**
 * The zod schema of a workflow's JSON form. It mirrors the spec, except that node lists are called `steps`
 * everywhere (a loop's `body`, a branch arm's `nodes`), so a problem path reads the same in the JSON and in
 * the checks. It adds no defaults: an optional key stays absent, which keeps the round trip exact.
 *
 * Importing the package must not pay for zod, so each schema is built on first use (zod loaded then): the
 * builders below are memoized thunks, and the exported schemas stand in for what they build (see `lazyObject`).
 * The schemas refer to each other through those stand-ins, so that each one is a single object wherever it
 * appears, as zod's JSON Schema output needs to find the recursion (`z.toJSONSchema` prints the same as when
 * the schemas were built at import). Hence `z.optional(Stand-in)` rather than `Stand-in.optional()`: zod binds a
 * schema's methods to the schema itself, so the method would wrap the real object instead.
 */
import type { z } from 'zod';
import { lazy } from '../lazy.js';
import { lazyObject } from '../lazy-object.js';
import { zod } from '../model/zod.js';
import { DATA_PATH_PATTERN, NAME_PATTERN } from './names.js';

const NAME_RULE = "Expected a name: a letter, then letters, digits, '_' or '-' (at most 128)";

// A reference is a registered name or a data path, never code: the JSON form is data, and nothing in it is evaluated.
const REF_PATTERN = new RegExp(`(?:${NAME_PATTERN.source})|(?:${DATA_PATH_PATTERN.source})`);

/** zod's `z`, loaded on the first call. */
const zz = () => zod().z;

/** Step, region, workflow and agent names. They become XState state keys, so the pattern is strict. */
const name = lazy(() => zz().string().regex(NAME_PATTERN, { error: NAME_RULE }));

const ref = lazy(() =>
  zz().string().regex(REF_PATTERN, {
    error: 'Expected the name of a registered guard or mapping, or a data path such as results.step.field',
  }),
);

/** A JSON Schema document, kept as data here; `fromJSON` turns it into a zod schema. */
const jsonSchemaObject = lazy(() => zz().record(zz().string(), zz().unknown()));

const onError = lazy(() => zz().enum(['fail', 'skip', 'compensate']));
const onTimeout = lazy(() => zz().enum(['fail', 'skip']));

const retryPolicy = lazy(() =>
  zz().strictObject({
    attempts: zz().number(),
    backoff: zz().enum(['exponential', 'fixed']).optional(),
    initialMs: zz().number().optional(),
    maxMs: zz().number().optional(),
    jitter: zz().number().optional(),
    retryOn: zz().array(zz().string()).optional(),
  }),
);

const escalationPolicy = lazy(() =>
  zz().strictObject({
    to: name(),
    timeoutMs: zz().number(),
    onTimeout: onTimeout().optional(),
  }),
);

// The options of a step, shared by `step` nodes and a map's `step`. A getter defers the reference to the
// workflow schema, which contains steps itself (zod reads it at the first parse, once everything is built).
const stepOptions = lazy(() =>
  zz().strictObject({
    agent: name().optional(),
    get workflow(): z.ZodOptional<Workflow> {
      return zz().optional(WorkflowJSONSchema);
    },
    input: ref().optional(),
    retry: zz().optional(RetryPolicyJSONSchema),
    timeoutMs: zz().number().optional(),
    fallback: name().optional(),
    compensate: name().optional(),
    escalate: zz()
      .union([zz().literal(false), EscalationPolicyJSONSchema], {
        error: 'Expected `escalate` to be false or { to, timeoutMs, onTimeout? }',
      })
      .optional(),
    expectedMs: zz().number().optional(),
    onError: onError().optional(),
    description: zz().string().optional(),
  }),
);

const stepNode = lazy(() => StepOptionsJSONSchema.extend({ kind: zz().literal('step'), name: name() }));

const parallelNode = lazy(() =>
  zz().strictObject({
    kind: zz().literal('parallel'),
    name: name(),
    get regions(): z.ZodRecord<z.ZodString, z.ZodArray<WorkflowNode>> {
      return zz().record(name(), zz().array(WorkflowNodeJSONSchema));
    },
    failFast: zz().boolean().optional(),
  }),
);

const branchArm = lazy(() =>
  zz().strictObject({
    when: ref(),
    get steps(): z.ZodArray<WorkflowNode> {
      return zz().array(WorkflowNodeJSONSchema);
    },
  }),
);

const branchNode = lazy(() =>
  zz().strictObject({
    kind: zz().literal('branch'),
    name: name(),
    arms: zz().array(BranchArmJSONSchema),
    get otherwise(): z.ZodOptional<z.ZodArray<WorkflowNode>> {
      return zz().array(WorkflowNodeJSONSchema).optional();
    },
  }),
);

const mapNode = lazy(() =>
  zz().strictObject({
    kind: zz().literal('map'),
    name: name(),
    items: ref(),
    step: StepOptionsJSONSchema,
    concurrency: zz().number(),
  }),
);

const loopNode = lazy(() =>
  zz().strictObject({
    kind: zz().literal('loop'),
    name: name(),
    get steps(): z.ZodArray<WorkflowNode> {
      return zz().array(WorkflowNodeJSONSchema);
    },
    until: ref(),
    maxIterations: zz().number(),
    onMaxIterations: zz().enum(['continue', 'fail']).optional(),
  }),
);

const waitNode = lazy(() =>
  zz().strictObject({
    kind: zz().literal('wait'),
    name: name(),
    event: zz().string(),
    schema: jsonSchemaObject().optional(),
    timeoutMs: zz().number(),
    onTimeout: onTimeout().optional(),
  }),
);

const workflowNode = lazy(() =>
  zz().discriminatedUnion(
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
  ),
);

const workflowDocument = lazy(() =>
  zz().strictObject({
    id: name(),
    description: zz().string().optional(),
    onError: onError().optional(),
    input: jsonSchemaObject().optional(),
    output: jsonSchemaObject().optional(),
    result: ref().optional(),
    get steps(): z.ZodArray<WorkflowNode> {
      return zz().array(WorkflowNodeJSONSchema);
    },
  }),
);

type WorkflowNode = ReturnType<typeof workflowNode>;
type Workflow = ReturnType<typeof workflowDocument>;

/** The JSON form of a {@link RetryPolicy}. */
export const RetryPolicyJSONSchema: ReturnType<typeof retryPolicy> = lazyObject(retryPolicy);

/** The JSON form of an {@link EscalationPolicy}. */
export const EscalationPolicyJSONSchema: ReturnType<typeof escalationPolicy> = lazyObject(escalationPolicy);

/** The options of a map's per-item step: a step without `kind` and `name`. */
export const StepOptionsJSONSchema: ReturnType<typeof stepOptions> = lazyObject(stepOptions);

/** An agent step. */
const StepNodeJSONSchema: ReturnType<typeof stepNode> = lazyObject(stepNode);

/** Regions that run at once. */
const ParallelNodeJSONSchema: ReturnType<typeof parallelNode> = lazyObject(parallelNode);

/** One guarded arm of a branch. */
const BranchArmJSONSchema: ReturnType<typeof branchArm> = lazyObject(branchArm);

/** Guarded arms tried in order, then `otherwise`. */
const BranchNodeJSONSchema: ReturnType<typeof branchNode> = lazyObject(branchNode);

/** One step per item of a list. */
const MapNodeJSONSchema: ReturnType<typeof mapNode> = lazyObject(mapNode);

/** A bounded cycle. */
const LoopNodeJSONSchema: ReturnType<typeof loopNode> = lazyObject(loopNode);

/** A wait for an outside event. */
const WaitNodeJSONSchema: ReturnType<typeof waitNode> = lazyObject(waitNode);

/** Any node, told apart by `kind`. */
export const WorkflowNodeJSONSchema: WorkflowNode = lazyObject(workflowNode);

/**
 * The JSON form of a whole workflow: what `definition.toJSON()` returns and `fromJSON` accepts. Built (and zod
 * loaded) the first time it is used; it works as the schema itself does (`parse`, `safeParse`, `z.toJSONSchema`).
 *
 * @example
 * ```ts
 * const parsed = WorkflowJSONSchema.safeParse({ id: 'greet', steps: [{ kind: 'step', name: 'hello' }] });
 * ```
 */
export const WorkflowJSONSchema: Workflow = lazyObject(workflowDocument);

/**
 * The schema `fromJSON` parses with: the one {@link WorkflowJSONSchema} stands for, built on the first call.
 *
 * @example
 * ```ts
 * const parsed = workflowJSONSchema().safeParse(value);
 * ```
 */
export const workflowJSONSchema: () => Workflow = workflowDocument;

/** A JSON Schema document embedded in a workflow's JSON form. */
export type JSONSchemaObjectJSON = z.infer<ReturnType<typeof jsonSchemaObject>>;
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
