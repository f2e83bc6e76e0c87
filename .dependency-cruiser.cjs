/**
 * Import rules of DESIGN.md §2, checked in `npm run lint`:
 * domain/ is pure; adapters never import each other; api/ and cli/ go through engine/.
 */
const ADAPTERS = ['store', 'events', 'executors', 'lake', 'artifacts'];
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports nothing outside itself (no node:, no packages, no other layer)',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    ...ADAPTERS.map((a) => ({
      name: `${a}-does-not-import-other-adapters`,
      comment: 'adapters import domain/ and their own interface, never each other',
      severity: 'error',
      from: { path: `^src/${a}/` },
      to: { path: `^src/(${ADAPTERS.filter((b) => b !== a).join('|')}|engine|api|cli)/` },
    })),
    {
      name: 'api-cli-go-through-engine',
      comment: 'api/ and cli/ call engine/, never an adapter directly',
      severity: 'error',
      from: { path: '^src/(api|cli)/' },
      to: { path: '^src/(store|events/(?!event-bus)|executors|lake|artifacts/local)/' },
    },
    {
      name: 'engine-uses-interfaces',
      comment: 'engine/ (and the generation facade over it) depends on adapter interfaces, never on an implementation',
      severity: 'error',
      from: { path: '^src/(engine|generation)/' },
      to: { path: '^src/(store/(sqlite|postgres)|events/(memory|redis)|executors/(local|ray|kubernetes)|lake/lance|artifacts/local)/' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|test|bench)' },
  },
};
