import { z } from 'zod';
import type { EscalationDecision } from '../model/agent.js';

/** The zod schema of an escalation decision, as a supervisor agent returns it or `resolveEscalation` receives it. */
export const EscalationDecisionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('retry') }).strict(),
  z.object({ action: z.literal('skip'), value: z.unknown().optional() }).strict(),
  z.object({ action: z.literal('abort'), reason: z.string().max(1000).optional() }).strict(),
]);

/** The decision, or `undefined` when the value is not a valid one. */
export function parseDecision(value: unknown): EscalationDecision | undefined {
  const parsed = EscalationDecisionSchema.safeParse(value);
  return parsed.success ? (parsed.data as EscalationDecision) : undefined;
}
