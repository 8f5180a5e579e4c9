/**
 * The templates the CLI lists and runs, in the order `flowstate list` shows them. A new template exports a
 * {@link Template} named `template` and is added here.
 */
import { template as dataValidation } from './data-validation.js';
import { template as migration } from './migration.js';
import { template as optimization } from './optimization.js';
import { template as queryGeneration } from './query-generation.js';
import { template as schemaAnalysis } from './schema-analysis.js';
import type { AnyTemplate } from './template.js';

export type { AnyTemplate, Template } from './template.js';

/** Every template, by the order the showcase runs them. */
export const templates: readonly AnyTemplate[] = [
  schemaAnalysis,
  dataValidation,
  migration,
  queryGeneration,
  optimization,
];

/** The template with this id, or `undefined`. */
export function findTemplate(id: string): AnyTemplate | undefined {
  return templates.find((t) => t.id === id);
}
