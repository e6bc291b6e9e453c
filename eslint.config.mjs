// Flat config: typescript-eslint strict type-checked rules for the TypeScript workspaces, and for
// the JavaScript that is shipped or run as is (the live page's browser modules, the benchmarks),
// type-checked from its JSDoc by the tsconfig projects named below.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const rules = {
  '@typescript-eslint/no-floating-promises': 'error',
  // noUncheckedIndexedAccess makes typed-array reads `number | undefined`; the hot loops
  // index within bounds they just checked, so `!` is the honest spelling there.
  '@typescript-eslint/no-non-null-assertion': 'off',
  // Express recognises error handlers by arity, so unused `_next` must stay.
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
  '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      '.venv/**',
      'python-hooks/**',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
      // ...except the JavaScript that is not built from TypeScript:
      '!collector/src/live/static/*.js',
      '!bench/*.mjs',
    ],
  },
  {
    files: ['packages/protocol/**/*.ts', 'packages/dashboards/**/*.ts', 'collector/**/*.ts'],
    extends: [eslint.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        project: [
          'packages/protocol/tsconfig.test.json',
          'packages/dashboards/tsconfig.test.json',
          'collector/tsconfig.test.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      ...rules,
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports' }],
    },
  },
  {
    files: ['collector/src/live/static/*.js', 'bench/*.mjs'],
    extends: [eslint.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        project: ['collector/tsconfig.live-page.json', 'bench/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      ...rules,
      // checkJs reports undefined names with their types (uPlot, window, process), so eslint's
      // untyped no-undef would only repeat it without knowing the globals.
      'no-undef': 'off',
    },
  },
);
