import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Dependencies point one way (docs/architecture.md): shells → core → engines; adapters implement the
// core's ports. Each folder lists what it must not import; a relative import names the folder it
// reaches ("../github/repo.js"), which is what the patterns match.
const SHELLS = ["handlers", "cli", "demo", "action", "app\\.js", "server\\.js"];
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
// Matched by their shape, whatever the client is called: `<anything>.rest.<namespace>` (Octokit's REST
// methods: `octokit.rest.apps…`, `context.octokit.rest.pulls…`, `gh.rest.repos…`), and `.paginate`,
// `.graphql`, `.request` on a client whose name says Octokit (`octokit.graphql`, `context.octokit.request`;
// `.request` alone is too common a name: http.request, a registry transport).
// One selector, so one report per call: the `.rest` (or `.paginate`, …) member itself.
const octokitCall = {
  selector: [
    ":matches(MemberExpression > MemberExpression.object[property.name='rest'],",
    "MemberExpression[property.name=/^(rest|paginate|graphql|request)$/][object.name=/octokit/i],",
    "MemberExpression[property.name=/^(rest|paginate|graphql|request)$/][object.property.name=/octokit/i])",
  ].join(" "),
  message: "GitHub calls live in src/github/: add a method there",
};
// JSON from outside (a webhook, Redis, the runner's files, an API) is parsed with a zod schema, never
// cast: `JSON.parse(…) as T`, `<T>JSON.parse(…)`, `JSON.parse(…) as unknown as T` and
// `const x: T = JSON.parse(…)` all claim a shape nobody checked. `as unknown` / `: unknown` are fine.
const JSON_PARSE = "CallExpression[callee.object.name='JSON'][callee.property.name='parse']";
const CAST_JSON = "parse JSON with a zod schema (see src/registry, src/nomad), never cast JSON.parse's any";
const noCastJson = [
  `TSAsExpression:not([typeAnnotation.type='TSUnknownKeyword']) > ${JSON_PARSE}.expression`,
  `TSAsExpression > TSAsExpression.expression[typeAnnotation.type='TSUnknownKeyword'] > ${JSON_PARSE}.expression`,
  `TSTypeAssertion > ${JSON_PARSE}.expression`,
  `VariableDeclarator[id.typeAnnotation]:not([id.typeAnnotation.typeAnnotation.type='TSUnknownKeyword']) > ${JSON_PARSE}.init`,
].map((selector) => ({ selector, message: CAST_JSON }));
// A file that outgrows this does more than one thing: split it by responsibility (docs/architecture.md).
const FILE_SIZE = { max: 400, skipBlankLines: true, skipComments: true };
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
  // All of src/: no cast JSON, no file above the size limit.
  {
    files: ["src/**/*.ts"],
    rules: { "no-restricted-syntax": ["error", ...noCastJson], "max-lines": ["error", FILE_SIZE] },
  },
  // Outside src/github/: no Octokit package, no Octokit calls.
  {
    files: ["src/**/*.ts"],
    ignores: ["src/github/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [noOctokitPackage] }],
      "no-restricted-syntax": ["error", octokitCall, ...noCastJson],
    },
  },
  // The shells: the Action's is an entry of its own (src/action/main.ts, bundled into dist-action/), so no
  // other shell imports it; it runs the App's deploy flow (handlers/deploy.ts) and the CLI's shared plan
  // output (cli/deploy.ts) with the workflow's token, never the App's server (app.ts, server.ts), Probot's
  // wiring or the demo.
  layer(
    ["handlers", "cli", "demo"],
    [noOctokitPackage, forbid(["action"], "src/action/ is the Action's entry: nothing imports it")],
  ),
  layer(
    ["action"],
    [
      noAppPackages,
      forbid(
        ["demo", "app\\.js", "server\\.js"],
        "the Action runs the deploy flow, not the App's server or the demo",
      ),
    ],
  ),
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
