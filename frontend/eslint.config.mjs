// `npm run lint`: typescript-eslint's recommended rules and React's hooks rules (as errors)
// over the app, its unit tests, browser tests and scripts.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: [".next/**", ".next-e2e/**", "node_modules/**", "test-results/**", "test-results-perf/**", "playwright-report/**", "next-env.d.ts"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `const { created: _created, ...chat } = summary` drops a key by naming it: not an unused variable.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
    },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    languageOptions: { globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
    },
  },
  {
    // The service worker (push-sw.js): plain JavaScript in the worker's global scope.
    files: ["public/**/*.js"],
    languageOptions: { globals: globals.serviceworker, sourceType: "script" },
  },
  {
    files: ["scripts/**/*.mjs", "e2e/**/*.ts", "tests/**/*.ts", "*.config.{ts,mjs}"],
    languageOptions: { globals: globals.node },
  },
);
