// ESLint for the extension's TypeScript: the recommended rules of ESLint and typescript-eslint.
// Run with `jlpm lint` (tests/test_extension_units.py runs it in the test suite).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['lib/', 'node_modules/', '../workbench/labextension/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended
);
