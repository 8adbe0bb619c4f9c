// ESLint for the console's browser modules and its node test files (scripts/lint.sh; versions pinned in
// package.json). The console has no build step: what is linted is what the browser runs.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/**", "test-artifacts/**", "target/**"] },
  js.configs.recommended,
  {
    files: ["src/main/resources/META-INF/resources/console/js/**/*.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    // node test files; the functions they pass to page.evaluate() run in the browser
    files: ["tests/**/*.mjs"],
    languageOptions: { sourceType: "module", globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
