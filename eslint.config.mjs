// Flat config: typescript-eslint strict type-checked rules for the TypeScript workspaces.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

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
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports' }],
      // noUncheckedIndexedAccess makes typed-array reads `number | undefined`; the hot loops
      // index within bounds they just checked, so `!` is the honest spelling there.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Express recognises error handlers by arity, so unused `_next` must stay.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
);
