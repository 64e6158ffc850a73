/**
 * The dependency rules of ARCHITECTURE.md, checked by `npm run lint`. A change that breaks one
 * fails with the rule's name.
 */
const CORE = '^src/(cache|headers|token|binding|signing)/';
const SPEC = '\\.spec\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycles',
      comment:
        'No import cycles, type-only imports included: put shared types where both sides can import them.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-stays-pure',
      comment:
        'The core (cache, headers, token, binding, signing) never imports the Nest layers, the key set fetcher, the CLI, the integrations or the test helpers: its checks take plain values.',
      severity: 'error',
      from: { path: CORE, pathNot: SPEC },
      to: { path: '^src/(guard|module|jwks|cli|integrations|replay|testing)/' },
    },
    {
      name: 'jwks-runs-without-nest',
      comment:
        'The key set fetcher (jwks/) takes plain settings and tells a listener: it imports the core only, never Nest or the Nest layers.',
      severity: 'error',
      from: { path: '^src/jwks/', pathNot: SPEC },
      to: {
        path: ['(^|/)node_modules/@nestjs/(common|core)/', '^src/(guard|module|cli|testing)/'],
      },
    },
    {
      name: 'core-runs-without-nest',
      comment: 'The core runs without a Nest application: no @nestjs/common or @nestjs/core.',
      severity: 'error',
      from: { path: CORE },
      to: { path: '(^|/)node_modules/@nestjs/(common|core)/' },
    },
    {
      name: 'replay-runs-without-nest',
      comment:
        'The replay stores and check (replay/) take plain values and a clock: they import the core and ApproovConfigError only, never Nest or the Nest layers.',
      severity: 'error',
      from: { path: '^src/replay/', pathNot: SPEC },
      to: {
        path: [
          '(^|/)node_modules/@nestjs/(common|core)/',
          '^src/(guard|cli|testing|integrations)/',
          '^src/module/(?!config-error\\.ts$)',
        ],
      },
    },
    {
      name: 'optional-peers-stay-behind-their-entry-points',
      comment:
        'ioredis, @nestjs/terminus, @nestjs/throttler and @opentelemetry/api are optional: only the entry points that need them (nestjs-approov/redis, /terminus, /throttler, /opentelemetry) and tests may reach them, so the main entry loads without them.',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: [SPEC, '^src/(redis|terminus|throttler|opentelemetry|integrations)/'],
      },
      to: {
        path: '(^|/)node_modules/(ioredis|@nestjs/terminus|@nestjs/throttler|@opentelemetry/)',
      },
    },
    {
      name: 'testing-is-for-tests',
      comment:
        'nestjs-approov/testing mints tokens: only tests, the CLI, the sample app, the benchmarks and tools may import it.',
      severity: 'error',
      from: { path: '^src/', pathNot: [SPEC, '^src/(cli|testing)/'] },
      to: { path: '^src/testing/' },
    },
    {
      name: 'library-does-not-import-the-cli',
      comment: 'The CLI is an entry point: nothing in the library imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'index-is-only-the-public-api',
      comment: 'src/index.ts is for users: the library imports the file that defines a thing.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/index\\.ts$' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|dist-sample|dist-bench|coverage)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
