// ESLint for the TypeScript client (scripts/lint.sh; versions pinned in package.json). The generated stubs
// (src/gen, ts-proto) and build output are not ours to lint; tsc --strict checks types separately.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["src/gen/**", "dist/**", "node_modules/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      // an unused argument named _x documents a callback's shape
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // test/pack/smoke.js runs as CommonJS in the publish check's fresh project (pack-check.sh)
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { globals: globals.node },
  },
);
