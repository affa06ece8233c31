import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Dependencies point one way (docs/architecture.md): shells → core → engines; adapters implement the
// core's ports. Each folder lists what it must not import; a relative import names the folder it
// reaches ("../github/repo.js"), which is what the patterns match.
const SHELLS = ["handlers", "cli", "demo", "app\\.js"];
const ADAPTERS = ["github", "nomad", "workspace"];
const ENGINES = ["jobfile", "registry", "image", "explain", "secrets", "provenance"];
// A relative path that climbs into one of `names` ("../github/repo.js", "../../cli/io.js").
const folders = (names) => `^(\\.\\./)+(${names.join("|")})(/|$)`;
const forbid = (names, why) => ({ regex: folders(names), message: why });
const noShells = forbid(SHELLS, "only the shells (app.ts, handlers/, cli/, demo/) may import a shell");

/** `no-restricted-imports` for the files of some folders. */
const layer = (dirs, patterns, extra = {}) => ({
  files: dirs.map((d) => `src/${d}/**/*.ts`),
  rules: { "no-restricted-imports": ["error", { patterns }], ...extra },
});

// Octokit calls belong in src/github/ (one place for every GitHub request, its budget and its errors).
const octokitCall = {
  selector:
    "MemberExpression[object.property.name='octokit'][property.name=/^(rest|paginate|graphql|request)$/]",
  message: "GitHub calls live in src/github/: add a method there",
};
const noOctokitPackage = { regex: "^@octokit/", message: "Octokit is used in src/github/ only" };
// Below the shells, neither Probot nor Octokit: the core and its engines and adapters run without the App.
const noAppPackages = {
  regex: "^(@octokit/|probot$)",
  message: "Probot and Octokit belong to src/github/ and the App's shell (app.ts, handlers/)",
};

export default tseslint.config(
  { ignores: ["dist/", "dist-action/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // Outside src/github/: no Octokit package, no Octokit calls.
  {
    files: ["src/**/*.ts"],
    ignores: ["src/github/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [noOctokitPackage] }],
      "no-restricted-syntax": ["error", octokitCall],
    },
  },
  layer(
    ["core"],
    [
      noShells,
      noAppPackages,
      forbid(ADAPTERS, "core defines ports; adapters implement them, core never imports one"),
    ],
  ),
  layer(ENGINES, [
    noShells,
    noAppPackages,
    forbid(["core", ...ADAPTERS], "engines are leaves: they know nothing of the pipeline or its adapters"),
  ]),
  layer(
    ["image", "secrets"],
    [
      noAppPackages,
      forbid(["[a-z-]+"], "image/ and secrets/ are leaves: they import nothing of the project"),
    ],
  ),
  layer(
    ["config"],
    [
      noAppPackages,
      forbid(
        ["core", "handlers", "cli", "demo", ...ADAPTERS, "jobfile", "registry", "explain"],
        "config may use the image grammar only",
      ),
    ],
  ),
  layer(["github"], [noShells, forbid(["nomad", "workspace"], "adapters do not import each other")]),
  layer(
    ["nomad"],
    [noShells, noAppPackages, forbid(["github", "workspace"], "adapters do not import each other")],
  ),
  layer(
    ["workspace"],
    [noShells, noAppPackages, forbid(["github", "nomad"], "adapters do not import each other")],
  ),
);
