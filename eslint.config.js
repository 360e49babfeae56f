import tseslint from 'typescript-eslint';
import idleforge from './tools/eslint-plugin-idleforge/index.js';

const root = import.meta.dirname;

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '**/*.d.ts', 'hub/contracts/artifacts/'] },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { idleforge, '@typescript-eslint': tseslint.plugin },
    rules: {
      'idleforge/layering': ['error', { root }],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
    },
  },
);
