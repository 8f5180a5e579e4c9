import { describe, expect, it } from 'vitest';
import { armNames, readablePathName, readableState } from '../../src/cli/names.js';
import { verify, workflow } from '../../src/index.js';
import { workflowPaths } from '../../src/testing/index.js';

const isBig = (ctx: { results: Readonly<Record<string, unknown>> }) => ctx.results.lint === 'big';
const gated = workflow('gated')
  .step('lint')
  .branch('gate', [
    { when: 'results.lint.destructive', then: (b) => b.step('approval') },
    { when: isBig, then: (b) => b.step('split') },
    { when: () => false, then: (b) => b.step('never') },
    { otherwise: (b) => b.step('ship') },
  ])
  .build();

describe('readable names of branch arms', () => {
  it("names each arm by its guard's name, its function's name, or its place", () => {
    const names = armNames(gated);
    expect(names.get('gate:when0')).toBe('when results.lint.destructive');
    expect(names.get('gate:1')).toBe('when isBig');
    expect(names.get('gate:when2')).toBe('arm 3');
    expect(names.get('gate:otherwise')).toBe('otherwise');
  });

  it('says a state path without the machine names', () => {
    expect(readableState(gated, 'gate.when0.approval')).toBe(
      'gate → when results.lint.destructive → approval',
    );
    expect(readableState(gated, 'gate.otherwise.ship')).toBe('gate → otherwise → ship');
    // The machine is flat: a top-level node named `running` keeps its name; `verify`'s root is the workflow.
    expect(readableState(gated, 'running.round')).toBe('running → round');
    expect(readableState(gated, '')).toBe('the workflow');
  });

  it("names the arms in test paths' names", () => {
    const simple = workflow('simple')
      .step('lint')
      .branch('gate', [
        { when: 'results.lint.destructive', then: (b) => b.step('approval') },
        { otherwise: (b) => b.step('ship') },
      ])
      .build();
    const names = workflowPaths(simple, {
      outputs: { lint: [{ destructive: true }, { destructive: false }] },
    }).map((p) => readablePathName(simple, p.name));
    expect(names.some((n) => n.includes('gate: when results.lint.destructive -> approval'))).toBe(true);
    expect(names.join('\n')).not.toMatch(/when\d/);
  });

  it("verify's problem states read the same way", () => {
    for (const p of verify(gated).problems) expect(readableState(gated, p.state)).not.toMatch(/when\d/);
  });
});
