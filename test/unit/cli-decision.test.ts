import { describe, expect, it } from 'vitest';
import { decision, decisionText } from '../../src/cli/commands/execute.js';

describe('the decision the CLI prints for a step waiting on a human', () => {
  it("is the migration approval's skip with its value, or an abort", () => {
    expect(decision('migration', 'approval')).toEqual({
      actions: `--action skip --value '{"approved": true, "by": "<your name>"}'`,
      or: '--action abort',
    });
    expect(decisionText('migration', 'approval')).toBe(
      `--action skip --value '{"approved": true, "by": "<your name>"}' (or --action abort)`,
    );
  });

  it('is any action for any other escalation', () => {
    expect(decisionText('migration', 'other')).toBe('--action retry|skip|abort');
    expect(decisionText('orders', 'approval')).toBe('--action retry|skip|abort');
  });
});
