/**
 * The migrations `migration-revert-shapes.test.ts` runs on both databases, grouped by what the schema holds: each
 * in `reverted` is applied, its verification made to fail, and must be reverted exactly; each in `applied` must
 * apply, with a dry run that found it reversible.
 */
import { DOMAINS } from './domains.js';
import { DROPPED_TYPES } from './dropped-types.js';
import { ENUMS } from './enums.js';
import { GRANTS } from './grants.js';
import { IDENTITY } from './identity.js';
import { IDENTITY_OPTIONS } from './identity-options.js';
import { INHERITANCE } from './inheritance.js';
import { KEYS_AND_CONSTRAINTS } from './keys-and-constraints.js';
import { PARTITIONS } from './partitions.js';
import { ROW_SECURITY } from './row-security.js';
import { SEQUENCES } from './sequences.js';
import type { Shape } from './shape.js';
import { TRIGGERS_AND_RULES } from './triggers-and-rules.js';

const GROUPS = [
  INHERITANCE,
  PARTITIONS,
  KEYS_AND_CONSTRAINTS,
  IDENTITY,
  TRIGGERS_AND_RULES,
  GRANTS,
  ROW_SECURITY,
  SEQUENCES,
  ENUMS,
  DROPPED_TYPES,
  DOMAINS,
  IDENTITY_OPTIONS,
];

/** Migrations whose revert must bring back the schema and the rows exactly. */
export const REVERTED: readonly Shape[] = GROUPS.flatMap((g) => g.reverted);
/** Migrations that must apply, reversibly. */
export const APPLIED: readonly Shape[] = GROUPS.flatMap((g) => g.applied);
