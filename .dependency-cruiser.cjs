/**
 * Import rules checked by `npm run lint`: no import cycles, and layers that import downwards only
 * (docs/architecture.md). Type-only imports count too: a type that two layers share belongs to the lower one.
 */
/** The layers, top to bottom: a file may import its own layer and the layers below it. */
const LAYERS = [
  ['command', '^src/cli/'],
  ['templates', '^machines/'],
  // The package's root and `flowstate/json` (the JSON form's reader, apart because it loads zod).
  ['face', '^src/(index|json)\\.ts$'],
  // flowstate/ai: LLM agents on the AI SDK. Imports the model layer; only the CLI and the templates load it.
  ['ai', '^src/ai/'],
  // flowstate/bullmq: agents on workers over Redis. Only the CLI (and the package's exports) may load it.
  ['distribution', '^src/bullmq/'],
  ['testing', '^src/testing/'],
  ['runtime', '^src/runtime/'],
  ['progress', '^src/progress/'],
  ['persistence', '^src/persistence/'],
  ['observability', '^src/observability/'],
  ['definitions', '^src/dsl/'],
  ['machines', '^src/machine/'],
  ['database', '^src/db/'],
  ['model', '^src/model/'],
  ['shared', '^src/lazy[^/]*\\.ts$'],
];

const upward = LAYERS.flatMap(([name, path], i) =>
  i === 0
    ? []
    : [
        {
          name: `${name}-imports-upward`,
          comment: `the ${name} layer may not import the layers above it (${LAYERS.slice(0, i)
            .map(([n]) => n)
            .join(', ')})`,
          severity: 'error',
          from: { path },
          to: { path: LAYERS.slice(0, i).map(([, p]) => p) },
        },
      ],
);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'files that import each other in a loop: move what they share into a file both import. A loop made only of ' +
        'type imports (a compiler class and the helpers it passes itself to) vanishes at run time and is allowed.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|coverage|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
