/**
 * `flowstate/json`: the JSON form of definitions, read side. {@link fromJSON} reads a definition from untrusted
 * JSON, {@link WorkflowJSONSchema} is the zod schema of the form. On its own entry because both need zod when they
 * are loaded (the schema is a zod object, `fromJSON` builds zod schemas from JSON Schema): the package root, which
 * runs workflows whose schemas are the user's own zod objects, does not load zod. Writing the form
 * (`definition.toJSON()`) needs no import: it is a method of every definition.
 */

export { type FromJSONOptions, fromJSON } from './dsl/json.js';
export { WorkflowJSONSchema } from './dsl/json-schema.js';
export type { WorkflowJSON } from './model/definition.js';
