// The demo's sample monorepo: three services with their sources and Nomad jobs, written the three ways
// people pin images (a literal, a variable default, podman's docker:// prefix), and a reproducible
// "build" that turns each service's sources into a docker-archive, the way a Nix build would.
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { git } from "../workspace/git.js";
import { buildImage, writeDockerArchive } from "./sandbox/oci.js";

export const SERVICES = ["web", "api", "worker"] as const;
export type Service = (typeof SERVICES)[number];

const jobFiles = (prefix: string): Record<string, string> => ({
  "nomad/web.nomad.hcl": `# The public site. Deployed by GitOps: edit this file, not the cluster.
job "web" {
  datacenters = ["homelab"]

  group "web" {
    count = 2

    network {
      port "http" { to = 8080 }
    }

    task "web" {
      driver = "docker"

      config {
        image = "${prefix}/web:latest" # pinned by nomad-gitops-bot
        ports = ["http"]
      }

      meta {
        # Not a task image: the bot leaves it alone.
        image = "documentation only"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`,
  "nomad/api.nomad.hcl": `variable "image" {
  type        = string
  description = "The API image; the bot edits this default."
  default     = "${prefix}/api:latest"
}

job "api" {
  datacenters = ["homelab"]

  group "api" {
    task "api" {
      driver = "docker"

      config {
        image = var.image
      }

      env {
        LOG_LEVEL = "info"
      }
    }
  }
}
`,
  "nomad/worker.nomad.hcl": `job "worker" {
  datacenters = ["homelab"]
  type        = "batch"

  periodic {
    crons = ["*/15 * * * *"]
  }

  group "worker" {
    task "worker" {
      # podman cannot take tag and digest together: the bot pins it by digest only.
      driver = "podman"

      config {
        image = "docker://${prefix}/worker:latest"
      }
    }
  }
}
`,
});

const sources: Record<string, string> = {
  "services/web/index.html": "<!doctype html>\n<title>Homelab</title>\n<h1>Hello from web</h1>\n",
  "services/web/server.conf": "listen 8080;\nroot /srv/web;\n",
  "services/api/main.txt": 'GET /hello -> {"message": "hello"}\n',
  "services/api/routes.txt": "/hello\n/health\n",
  "services/worker/job.txt": "every 15 minutes: compact the database\n",
};

export function configText(prefix: string): string {
  return [
    "# nomad-gitops-bot demo: three services, release notes in RELEASES.md",
    `registry: ${prefix}`,
    "services:",
    ...SERVICES.map((s) => `  - { name: ${s}, image: ${prefix}/${s}, paths: ["services/${s}/**"] }`),
    "",
  ].join("\n");
}

export class SampleMonorepo {
  constructor(
    readonly dir: string,
    /** Image prefix, e.g. "127.0.0.1:5000/demo". */
    readonly prefix: string,
  ) {}

  async init(): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    await this.git("init", "-q", "-b", "main");
    await this.git("config", "user.name", "Demo Author");
    await this.git("config", "user.email", "demo@example.invalid");
    await this.git("config", "commit.gpgsign", "false");
    await this.write(".github/nomad-gitops.yml", configText(this.prefix));
    for (const [file, text] of Object.entries({ ...jobFiles(this.prefix), ...sources })) {
      await this.write(file, text);
    }
    return this.commit("Three services and their Nomad jobs");
  }

  async write(file: string, text: string): Promise<void> {
    await mkdir(path.dirname(path.join(this.dir, file)), { recursive: true });
    await writeFile(path.join(this.dir, file), text);
  }

  read(file: string): Promise<string> {
    return readFile(path.join(this.dir, file), "utf8");
  }

  async git(...args: string[]): Promise<string> {
    return (await git(this.dir, args)).stdout;
  }

  async commit(message: string): Promise<string> {
    await this.git("add", "-A");
    await this.git("commit", "-q", "-m", message);
    return (await this.git("rev-parse", "HEAD")).trim();
  }

  /**
   * A reproducible build of every service: one layer with the service's files (fixed mtimes and
   * owners), written as docker-archives; returns the `--images` map. Same sources, same bytes.
   */
  async build(outDir: string): Promise<Record<Service, string>> {
    const images = {} as Record<Service, string>;
    for (const service of SERVICES) {
      const root = path.join(this.dir, "services", service);
      const files: Record<string, string> = {};
      for (const name of (await readdir(root)).sort()) {
        files[`srv/${service}/${name}`] = await readFile(path.join(root, name), "utf8");
      }
      const image = buildImage({ layers: [files], env: ["PATH=/bin", `SERVICE=${service}`] });
      const archive = path.join(outDir, `${service}.tar`);
      await writeDockerArchive(archive, image);
      images[service] = `docker-archive:${archive}`;
    }
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, "images.json"), `${JSON.stringify(images, null, 2)}\n`);
    return images;
  }
}
