import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // The Nomad API adapter knows nothing of GitHub nor of the App's handlers; only src/github talks to
  // GitHub's API (handlers get a client from Probot's context and hand it to src/github).
  {
    files: ["src/nomad/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/github/*", "**/handlers/*", "probot", "@octokit/*"],
              message: "src/nomad imports nothing from GitHub or the App",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/github/**", "src/handlers/**", "src/app.ts", "src/nomad/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["probot", "@octokit/*"], message: "Octokit is used in src/github only" }] },
      ],
    },
  },
);
