import { describe, expect, it } from 'vitest';
import { templates } from '../../machines/index.js';
import { verify } from '../../src/index.js';
import { testWorkflow, workflowPaths } from '../../src/testing/index.js';

// Every template is verified and every one of its paths runs, with scripted agents (no database needed).
for (const template of templates) {
  describe(`template '${template.id}'`, () => {
    const guards = template.guards ? { guards: template.guards } : {};
    it('verifies (warnings allowed)', () => {
      const report = verify(template.definition);
      expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    });
    const paths = workflowPaths(template.definition, { input: template.exampleInput, ...guards });
    it('has test paths for every outcome of every step', () => expect(paths.length).toBeGreaterThan(5));
    for (const t of testWorkflow(template.definition, { paths, ...guards })) it(t.name, t.run);
  });
}
