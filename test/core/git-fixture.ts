// A throwaway monorepo in a temp dir (three services, their Nomad jobs, a config) with real git
// history, and "builds" that push deterministic images for a commit to the real local registry.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { buildImage, pushTestImage } from "../helpers/oci.js";

export const SERVICES = ["banana", "kiwi", "mango"] as const;
export type ServiceName = (typeof SERVICES)[number];

const job = (host: string, name: string, driver = "docker") => `job "${name}" {
  group "${name}" {
    task "${name}" {
      driver = "${driver}"

      config {
        image = "${driver === "podman" ? "docker://" : ""}${host}/acme/${name}:latest"
      }
    }
  }
}
`;

export class GitFixture {
  private constructor(
    readonly dir: string,
    readonly host: string,
    /** Where builds push (the registry without the recording proxy: setup is not counted). */
    readonly pushHost: string,
  ) {}

  static async create(host: string, pushHost = host): Promise<GitFixture> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-monorepo-"));
    const repo = new GitFixture(dir, host, pushHost);
    await repo.git("init", "-q", "-b", "main");
    await repo.git("config", "user.name", "Test Author");
    await repo.git("config", "user.email", "test@example.com");
    await repo.write(
      ".github/nomad-gitops.yml",
      [
        `registry: ${host}/acme`,
        "services:",
        ...SERVICES.map((s) => `  - { name: ${s}, image: ${host}/acme/${s}, paths: [services/${s}/**] }`),
        "",
      ].join("\n"),
    );
    for (const s of SERVICES) {
      await repo.write(`nomad/${s}.nomad.hcl`, job(host, s, s === "mango" ? "podman" : "docker"));
      await repo.write(`services/${s}/main.txt`, `${s} v1\n`);
    }
    await repo.commit("Initial services");
    return repo;
  }

  async git(...args: string[]): Promise<string> {
    return (await execa("git", args, { cwd: this.dir })).stdout;
  }

  async write(file: string, text: string): Promise<void> {
    await mkdir(path.dirname(path.join(this.dir, file)), { recursive: true });
    await writeFile(path.join(this.dir, file), text);
  }

  read(file: string): Promise<string> {
    return readFile(path.join(this.dir, file), "utf8");
  }

  async commit(message: string): Promise<string> {
    await this.git("add", "-A");
    await this.git("commit", "-q", "-m", message);
    return this.git("rev-parse", "HEAD");
  }

  /** The image a service's source files produce: same files, same digest. */
  async image(service: ServiceName) {
    return buildImage({ layers: [{ "app/main.txt": await this.read(`services/${service}/main.txt`) }] });
  }

  /** What a CI build does: push every service image tagged with the commit. */
  build(sha: string): Promise<Record<ServiceName, string>> {
    return this.push(sha, SERVICES);
  }

  async push(sha: string, services: readonly ServiceName[]): Promise<Record<ServiceName, string>> {
    const out = {} as Record<ServiceName, string>;
    for (const s of services)
      out[s] = await pushTestImage(this.pushHost, `acme/${s}`, sha, await this.image(s));
    return out;
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
