// A git repository of services for the CLI's tests: a config naming each service's image under
// `<host>/acme`, and one Nomad job file per service with the image at the given tag (or tag@digest),
// committed on `main`.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

/** A one-task docker job whose image is `<host>/acme/<name>:<pin>`. */
export const serviceJob = (host: string, name: string, pin: string) =>
  `job "${name}" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      config {\n        image = "${host}/acme/${name}:${pin}"\n      }\n    }\n  }\n}\n`;

/** Creates the repository at `dir` with one service per key of `pins`; returns a git runner for it. */
export async function createServiceRepo(
  dir: string,
  host: string,
  pins: Record<string, string>,
): Promise<(...args: string[]) => Promise<string>> {
  const git = (...args: string[]) => execa("git", args, { cwd: dir }).then((r) => r.stdout);
  await mkdir(path.join(dir, "nomad"), { recursive: true });
  await mkdir(path.join(dir, ".github"), { recursive: true });
  await git("init", "-q", "-b", "main");
  await git("config", "user.name", "Test");
  await git("config", "user.email", "test@example.com");
  await writeFile(
    path.join(dir, ".github/nomad-gitops.yml"),
    [
      `registry: ${host}/acme`,
      "services:",
      ...Object.keys(pins).map((s) => `  - { name: ${s}, image: ${host}/acme/${s} }`),
      "",
    ].join("\n"),
  );
  for (const [service, pin] of Object.entries(pins))
    await writeFile(path.join(dir, `nomad/${service}.nomad.hcl`), serviceJob(host, service, pin));
  await git("add", "-A");
  await git("commit", "-q", "-m", "services");
  return git;
}
