// ESLint 9 flat config. `npm test` runs it (scripts/run-tests.mjs) before the tests, together with
// `prettier --check .`; `npm run lint` runs it alone. Prettier owns formatting, so no stylistic
// rules are turned on here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { defineConfig } from 'eslint/config';

export default defineConfig(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.build/',
      'viewer-dist/',
      '.livetrace/',
      'test-artifacts/',
      'examples/python/',
      'test/fixtures/',
      'bench/fixtures/',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  // TypeScript: type-aware rules. The type information comes from the same tsconfig files the
  // build and the tests compile with (`project`, not `projectService`: the service only looks
  // for files named tsconfig.json, and the tests and benchmarks are compiled by
  // tsconfig.test.json, the viewer by viewer/tsconfig.json).
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.test.json', './viewer/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its rejection: livetrace promises that none leaves it.
      // node:test's test(), it(), describe() and suite() return promises that the runner itself
      // tracks; awaiting them at the top level of a file would only serialize the file.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Passing on a caught `unknown` as a rejection keeps it unchanged; anything else must be
      // an Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Augmenting a library's declared namespace (React's JSX.IntrinsicElements for a custom
      // element) needs the namespace syntax; code of our own uses modules.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // An `async` method with no `await` is deliberate here: it is how a method of a promise
      // interface (Store, Hub) turns a synchronous throw into a rejection, so that no caller
      // sees an exception where it expects a rejected promise.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },

  // TypeScript files outside the compiled projects (the Vite config of the element bundle, the
  // React embedding example): the same rules without type information.
  {
    files: ['scripts/element.vite.config.ts', 'examples/**/*.{ts,tsx}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { parserOptions: { project: false, projectService: false } },
  },

  // Plain JavaScript (bin, scripts, examples, this file): the recommended rules without types.
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },

  // Browser code: the viewer (Preact) and the element. The hooks rules apply to Preact's hooks
  // as they do to React's (they go by the `use` name, not by the package).
  {
    files: ['viewer/src/**/*.{ts,tsx}', 'src/element/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
);
