// ESLint for the whole tree (`npm run lint`): typescript-eslint's recommended rules and a few of our own habits.
// Formatting is Prettier's (`npm run format:check`), not ESLint's; type errors are tsc's (`npm run typecheck`).
import js from '@eslint/js';
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', '**/node_modules/', 'dist/', 'bench/results/', 'test/artifacts/', '.data/', '.scratch/', 'test/.readme-*', 'test/.clients-*'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  comments.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: globals.node },
    rules: {
      // No `any` without a reason: a disable comment must say why (`-- <reason>`).
      '@typescript-eslint/no-explicit-any': 'error',
      '@eslint-community/eslint-comments/require-description': ['error', { ignore: [] }],
      '@eslint-community/eslint-comments/no-unlimited-disable': 'error',
      // An unused name is dead code; a leading underscore marks a parameter a signature needs but the body does not.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // The pages' own scripts run in the browser as they are served, beside the vendor scripts the page loads first
    // (from npm packages: autobahn-browser, uplot, swagger-ui-dist), whose globals they use.
    files: ['frontend/**/*.js', 'gateway-http/assets/**/*.js'],
    languageOptions: { globals: { ...globals.browser, autobahn: 'readonly', uPlot: 'readonly', SwaggerUIBundle: 'readonly' }, sourceType: 'script' },
  },
);
