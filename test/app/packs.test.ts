// The App (its own process, signed webhooks over HTTP, the GitHub API stand-in, the real registry) with a
// Nomad Pack: the deploy PR pins the values file a config names for the pack and the tag variable of an
// image split over two variables, and leaves the template as it is.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { waitForCheck } from "../scale/fleet.js";
import { configText, image } from "./scenario.js";

let registry: TestRegistry;
let api: GitHubStandIn;
let app: AppProcess;

beforeAll(async () => {
  registry = await startRegistry();
  api = await startGitHubApi();
  app = await startAppProcess({ api, env: { NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host } });
  api.webhookUrls = [app.webhookUrl];
});
afterAll(async () => {
  await app?.stop();
  await api?.stop();
  await registry?.stop();
});

const TEMPLATE = `job "orchard" {
  group "orchard" {
    task "apple" {
      driver = "docker"
      config {
        image = [[ var "apple_image" . | quote ]]
      }
    }

    task "pear" {
      driver = "docker"
      config {
        image = "[[ .orchard.pear_repository ]]:[[ .orchard.pear_tag ]]"
      }
    }
  }
}
`;

it("opens one deploy PR that pins the pack's values file and variables.hcl, not the template", async () => {
  const host = registry.host;
  const { sha: first } = api.createRepo({
    owner: "acme",
    name: "orchard",
    files: { "README.md": "# orchard\n" },
  });
  const push = (service: string, tag: string, version: number) =>
    pushTestImage(registry.directHost, `acme/${service}`, tag, image(service, version));
  const deployed = { apple: await push("apple", first, 1), pear: await push("pear", first, 1) };
  const variables = [
    'variable "apple_image" {',
    `  default = "${host}/acme/apple:${first}@${deployed.apple}"`,
    "}",
    "",
    'variable "pear_repository" {',
    `  default = "${host}/acme/pear"`,
    "}",
    "",
    'variable "pear_tag" {',
    `  default = "${first}@${deployed.pear}"`,
    "}",
    "",
  ].join("\n");
  const values = `# production\napple_image = "${host}/acme/apple:${first}@${deployed.apple}"\n`;
  const files = {
    ".github/nomad-gitops.yml": configText(
      host,
      ["apple", "pear"],
      'vars: { "packs/orchard/templates/*.nomad.tpl": [deploy/orchard.prod.hcl] }\nrelease_notes: { file: false }\n',
    ),
    "packs/orchard/metadata.hcl": 'pack {\n  name = "orchard"\n}\n',
    "packs/orchard/variables.hcl": variables,
    "packs/orchard/templates/orchard.nomad.tpl": TEMPLATE,
    "deploy/orchard.prod.hcl": values,
  };
  api.pushCommit("acme/orchard", "main", files, "Set up the orchard pack");
  // Both services' code changes; the build pushes new images.
  const sha = api.pushCommit(
    "acme/orchard",
    "main",
    { "services/apple/main.go": "// v2\n", "services/pear/main.go": "// v2\n" },
    "apple, pear: v2",
  );
  const next = { apple: await push("apple", sha, 2), pear: await push("pear", sha, 2) };
  await sendPush(api, "acme/orchard", "main");
  const delivery = await sendWorkflowRun(api, "acme/orchard", { sha });
  expect(delivery.statusCode).toBeLessThan(300);
  const check = await waitForCheck(api, "acme/orchard", sha);
  expect(check.conclusion).toBe("success");

  const pulls = api.repo("acme/orchard").pulls;
  expect(pulls).toHaveLength(1);
  const head = pulls[0]!.head;
  expect(api.file("acme/orchard", head, "packs/orchard/templates/orchard.nomad.tpl")).toBe(TEMPLATE);
  // The values file wins over the default: apple is pinned there, its default is left as it was.
  expect(api.file("acme/orchard", head, "deploy/orchard.prod.hcl")).toBe(
    // The default `pin: digest` drops the tag the old pin had.
    values.replace(`apple:${first}@${deployed.apple}`, `apple@${next.apple}`),
  );
  // pear: only the tag variable is editable, so it keeps a tag next to the digest in either style.
  expect(api.file("acme/orchard", head, "packs/orchard/variables.hcl")).toBe(
    variables.replace(`"${first}@${deployed.pear}"`, `"${sha}@${next.pear}"`),
  );
});
