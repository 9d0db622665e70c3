import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'coverage/**', '**/cdk.out/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        setImmediate: 'readonly',
      },
    },
  },
  {
    // The status page runs in the browser (DOM types from status-page/tsconfig.json, which the
    // project service finds for these files) and puts gateway data into the DOM: function names
    // can be chosen by clients, so text goes in through textContent, never as markup. Its CSP
    // allows no inline code or style, and the admin token must never be stored.
    files: ['status-page/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Use textContent or document.createElement.' },
        { property: 'outerHTML', message: 'Use textContent or document.createElement.' },
        { property: 'insertAdjacentHTML', message: 'Use textContent or document.createElement.' },
        { object: 'document', property: 'write', message: 'Use document.createElement.' },
        { object: 'document', property: 'cookie', message: 'The page stores nothing.' },
      ],
      'no-restricted-globals': [
        'error',
        {
          name: 'localStorage',
          message: 'The page stores nothing (the admin token least of all).',
        },
        {
          name: 'sessionStorage',
          message: 'The page stores nothing (the admin token least of all).',
        },
        { name: 'eval', message: "The CSP is script-src 'self'." },
      ],
      'no-implied-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // vitest's focus/skip markers must never land.
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only' },
        { object: 'describe', property: 'only' },
        { object: 'test', property: 'only' },
        { object: 'it', property: 'skip' },
        { object: 'describe', property: 'skip' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
