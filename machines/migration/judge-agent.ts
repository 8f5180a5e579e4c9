/**
 * The `migration-judge` agent: whether the rewrite proposed for the migration is taken (the rules are in
 * `rewrite.ts`). With no rewrite step's answer, it judges the default one, which proposes nothing.
 */
import type { Database } from '../../src/db/index.js';
import { defineAgent } from '../lib/agent.js';
import { judgeRewrite, templatedRewrite } from './rewrite.js';
import { JudgedMigrationSchema, ResultsSchema } from './schemas.js';

/** The default `migration-judge` agent, on `db`: a rewrite it takes is planned again there, as SQL given. */
export function judgeAgent(db: Database) {
  return defineAgent({
    name: 'migration-judge',
    input: ResultsSchema,
    output: JudgedMigrationSchema,
    run: ({ plan, lint, rewrite }) => judgeRewrite(db, plan, lint, rewrite ?? templatedRewrite(plan, lint)),
  });
}
