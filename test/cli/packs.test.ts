// Nomad Pack templates through plan and apply (the CLI on a real git repository, the real registry): an
// image a template reads from a pack variable is pinned where its value is written, the template itself
// is read as a template and never rewritten.
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { hcl2Object } from "../../src/jobfile/parse.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let repo: GitFixture;

const TEMPLATE = `job [[ template "job_name" . ]] {
  group "fruit" {
    task "kiwi" {
      driver = "docker"
      config {
        image = [[ var "kiwi_image" . | quote ]]
      }
    }

    task "mango" {
      driver = "docker"
      config {
        # repository and tag from two variables
        image = "[[ var "mango_repository" . ]]:[[ var "mango_tag" . ]]"
      }
    }
  }
}
`;

const variables = (host: string) => `variable "kiwi_image" {
  type    = string
  default = "${host}/acme/kiwi:latest"
}

variable "mango_repository" {
  default = "${host}/acme/mango"
}

variable "mango_tag" {
  default = "latest" # the build tag goes here
}
`;

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
  const host = registry.host;
  // kiwi and mango now run from a pack; kiwi's image is overridden by a values file named in the config.
  for (const s of ["kiwi", "mango"]) await rm(path.join(repo.dir, `nomad/${s}.nomad.hcl`));
  await repo.write("packs/fruit/templates/fruit.nomad.tpl", TEMPLATE);
  await repo.write("packs/fruit/templates/_helpers.tpl", '[[- define "job_name" -]]fruit[[- end -]]\n');
  await repo.write("packs/fruit/variables.hcl", variables(host));
  await repo.write("deploy/fruit.prod.hcl", `# production values\nkiwi_image = "${host}/acme/kiwi:stable"\n`);
  await repo.write(
    ".github/nomad-gitops.yml",
    [
      "services:",
      ...["banana", "kiwi", "mango"].map((s) => `  - { name: ${s}, image: ${host}/acme/${s} }`),
      "vars:",
      '  "packs/fruit/templates/*.nomad.tpl": [deploy/fruit.prod.hcl]',
      "",
    ].join("\n"),
  );
  await repo.commit("fruit pack");
});
afterAll(async () => {
  await repo?.remove();
  await registry?.stop();
});

const run = async (...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};

describe("plan and apply with a Nomad Pack", () => {
  it("pins the values file over the default and the tag variable of a split image; the template stays as it is", async () => {
    const sha = await repo.git("rev-parse", "HEAD");
    const digests = await repo.build(sha);
    const host = registry.host;
    const plan = await run("plan", "--json");
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(0);
    const out = JSON.parse(plan.stdout) as {
      services: Array<{
        name: string;
        status: string;
        new: { digest: string };
        files: string[];
      }>;
      files: string[];
    };
    expect(out.services.map((s) => [s.name, s.status, s.new.digest])).toEqual([
      ["banana", "new", digests.banana],
      ["kiwi", "new", digests.kiwi],
      ["mango", "new", digests.mango],
    ]);
    // The template is the file of the services' sites; the files a deploy changes are where the values are.
    expect(out.services.map((s) => s.files)).toEqual([
      ["nomad/banana.nomad.hcl"],
      ["packs/fruit/templates/fruit.nomad.tpl"],
      ["packs/fruit/templates/fruit.nomad.tpl"],
    ]);
    expect(out.files).toEqual([
      "deploy/fruit.prod.hcl",
      "nomad/banana.nomad.hcl",
      "packs/fruit/variables.hcl",
      "RELEASES.md",
    ]);

    const before = {
      template: await repo.read("packs/fruit/templates/fruit.nomad.tpl"),
      variables: await repo.read("packs/fruit/variables.hcl"),
      values: await repo.read("deploy/fruit.prod.hcl"),
    };
    const apply = await run("apply", "--quiet");
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(await repo.read("packs/fruit/templates/fruit.nomad.tpl")).toBe(before.template);
    // The values file wins over the default, so the pin is written there and the default stays.
    expect(await repo.read("deploy/fruit.prod.hcl")).toBe(
      before.values.replace(`"${host}/acme/kiwi:stable"`, `"${host}/acme/kiwi@${digests.kiwi}"`),
    );
    // Only the tag variable is editable, so it holds tag and digest: the repository variable is left alone.
    const pinned = before.variables.replace('default = "latest" #', `default = "${sha}@${digests.mango}" #`);
    expect(await repo.read("packs/fruit/variables.hcl")).toBe(pinned);
    expect(hcl2Object(pinned).ok).toBe(true);
    expect(await repo.read("nomad/banana.nomad.hcl")).toContain(`acme/banana@${digests.banana}"`);

    // The next build (same images): the pack now names their digests, so nothing moves.
    await repo.build(await repo.commit("Pin images"));
    const again = await run("plan", "--json");
    const next = JSON.parse(again.stdout) as { services: Array<{ name: string; status: string }> };
    expect(next.services.map((s) => `${s.name} ${s.status}`)).toEqual([
      "banana unchanged",
      "kiwi unchanged",
      "mango unchanged",
    ]);
  });
});

describe("a Nomad Pack template over the size bound", () => {
  it("[fault:pack-too-large] is that file's error, naming its size and the bound; the other files are planned", async () => {
    const line = `# ${"x".repeat(1021)}\n`;
    await repo.write("packs/huge/templates/huge.nomad.tpl", line.repeat(8 * 1024 + 1));
    await repo.commit("a huge template");
    const plan = await run("plan", "--json");
    const out = JSON.parse(plan.stdout) as {
      services: Array<{ name: string; status: string }>;
      fileErrors: Array<{ file: string; error: string }>;
    };
    expect(out.fileErrors).toEqual([
      {
        file: "packs/huge/templates/huge.nomad.tpl",
        error:
          "the template is 8193 KiB; a Nomad Pack template may be at most 8192 KiB (8 MiB): split it into several templates",
        line: null,
      },
    ]);
    expect(out.services.map((s) => s.name)).toEqual(["banana", "kiwi", "mango"]);
    expect(plan.code).toBe(1);
  });
});
