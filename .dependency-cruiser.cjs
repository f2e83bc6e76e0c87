/**
 * Import rules of DESIGN.md §2, checked in `npm run lint`:
 * domain/ is pure; adapters never import each other; api/ and cli/ go through application
 * services (engine/, lake/service/, generation/), never an adapter.
 */
const ADAPTERS = ['store', 'events', 'executors', 'lake', 'artifacts'];
/** lake/service/ is the lake's application service, not an adapter: it may use the store's interface. */
const fromAdapter = (a) => (a === 'lake' ? '^src/lake/(?!service/)' : `^src/${a}/`);
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
      from: { path: fromAdapter(a) },
      to: { path: `^src/(${ADAPTERS.filter((b) => b !== a).join('|')}|engine|api|cli|webhooks)/` },
    })),
    {
      name: 'api-cli-go-through-engine',
      comment: 'api/ and cli/ call engine/, never an adapter directly',
      severity: 'error',
      from: { path: '^src/(api|cli)/' },
      to: { path: '^src/(store|events/(?!event-bus)|executors|lake/(?!service/)|artifacts/local)/' },
    },
    {
      name: 'engine-uses-interfaces',
      comment: 'engine/ (and the generation facade over it) depends on adapter interfaces, never on an implementation',
      severity: 'error',
      from: { path: '^src/(engine|generation)/' },
      to: { path: '^src/(store/(sqlite|postgres)|events/(memory|redis)|executors/(local|ray|kubernetes)|lake/lance|artifacts/local)/' },
    },
    {
      name: 'lake-service-uses-interfaces',
      comment: 'the lake service depends on the lake, store and event bus interfaces, never on an implementation or a caller',
      severity: 'error',
      from: { path: '^src/lake/service/' },
      to: { path: '^src/((store/(sqlite|postgres)|lake/lance|engine|api|cli|executors)/|events/(?!event-bus\\.ts$))' },
    },
    {
      name: 'net-and-webhooks-are-leaves',
      comment: 'net/ (URL policy) depends on domain/ only; webhooks/ never on api/, cli/ or an adapter implementation',
      severity: 'error',
      from: { path: '^src/(net|webhooks)/' },
      to: { path: '^src/(api|cli|store/sqlite|events/memory|executors|lake|artifacts/(local|s3))/' },
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
