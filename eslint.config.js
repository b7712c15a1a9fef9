// @ts-check
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries (STYLE.md "Layout"): each library is reachable from the folders that own it,
 * and one concern reaches another only through its index.js. `no-restricted-imports` does not
 * merge across blocks, so every folder gets one block with its complete list.
 */
const LIBRARY_OWNERS = {
  '@grpc/*': ['server', 'client'],
  'grpc-health-check': ['server'],
  pkijs: ['asn1', 'ca', 'csr'],
  asn1js: ['asn1', 'ca', 'csr'],
  '@kubernetes/client-node': ['kube'],
  'prom-client': ['metrics'],
  protobufjs: ['server'],
  'better-sqlite3': ['ledger'],
  pg: ['ledger'],
};
// Every folder of src/ (but the generated code), so that a new concern gets its boundaries at once.
const FOLDERS = readdirSync(join(import.meta.dirname, 'src'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'gen')
  .map((entry) => entry.name);
const boundaryBlocks = FOLDERS.map((folder) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    // The Kubernetes models are generated classes that the client itself treats as plain data.
    ...(folder === 'kube'
      ? { '@typescript-eslint/no-unsafe-class-instance-assignment': 'off' }
      : {}),
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...Object.entries(LIBRARY_OWNERS)
            .filter(([, owners]) => !owners.includes(folder))
            .map(([library, owners]) => ({
              group: [library],
              message: `Only src/{${owners.join(',')}}/ may import ${library}.`,
            })),
          {
            // `../other/anything.js` (or `../../other/...` from a sub-folder such as
            // config/sections/) unless it is the other concern's index.js or generated code.
            regex: '^(\\.\\./)+(?!gen/)[^./][^/]*/(?!index\\.js$)',
            message:
              'Import another concern through its index.js (generated code in gen/ excepted).',
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'src/gen/', 'node_modules/', 'scratch/'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
        { selector: 'ExportAllDeclaration', message: 'Re-export names explicitly.' },
        { selector: 'TSEnumDeclaration', message: 'Use a union of string literals.' },
      ],
      'no-console': 'error',
      eqeqeq: 'error',
    },
  },
  ...boundaryBlocks,
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests assert on shapes they just built; non-null assertions there state a test's premise.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Kubernetes models are generated classes that tests, like src/kube, build as plain data.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-misused-spread': 'off',
      'no-console': 'off',
    },
  },
  { files: ['**/*.js', '**/*.cjs'], extends: [tseslint.configs.disableTypeChecked] },
  {
    // Jest requires default exports from these.
    files: ['eslint.config.js', 'jest.config.js', 'test/support/global-*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  prettier,
);
