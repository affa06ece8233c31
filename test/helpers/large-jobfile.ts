// A job file of realistic shape at any size: one job with many groups, each with a service, tasks of
// a few drivers, env and template blocks (long heredocs), variables and locals read by images. Used by
// the large-file tests and `npm run bench` (memory section) to show that cost is linear in size.

export interface LargeJobFile {
  text: string;
  /** repositories of the plain-literal images, one per group, in order */
  repositories: string[];
}

export interface LargeJobFileOptions {
  /** lines of each group's template heredoc (default 40) */
  templateLines?: number;
  /** the image of group i (default `registry.example/app-i:1.i.0`) */
  image?: (i: number) => string;
}

/** About `bytes` of HCL (a little more: whole groups are added until it is reached). */
export function largeJobFile(bytes: number, options: LargeJobFileOptions = {}): LargeJobFile {
  const templateLines = options.templateLines ?? 40;
  const image = options.image ?? ((i: number) => `registry.example/app-${i}:1.${i}.0`);
  const head = [
    `variable "sidecar_image" {`,
    `  default = "registry.example/sidecar:1.4.2"`,
    `}`,
    ``,
    `locals {`,
    `  proxy_image = "registry.example/proxy:2.0.0"`,
    `}`,
    ``,
    `job "big" {`,
    `  datacenters = ["dc1"]`,
    `  type        = "service"`,
    ``,
  ].join("\n");
  const parts: string[] = [head];
  const repositories: string[] = [];
  let size = head.length;
  for (let i = 0; size < bytes; i++) {
    const group = groupText(i, templateLines, image(i));
    parts.push(group);
    repositories.push(image(i).replace(/:[^:/]*$/, ""));
    size += group.length;
  }
  parts.push("}\n");
  return { text: parts.join(""), repositories };
}

function groupText(i: number, templateLines: number, image: string): string {
  const template = Array.from(
    { length: templateLines },
    (_, n) =>
      `        setting_${n} = "{{ key \\"config/app-${i}/setting-${n}\\" }}" # image = "not/this:${n}"`,
  ).join("\n");
  return `
  group "g${i}" {
    count = ${1 + (i % 3)}

    network {
      port "http" { to = 8080 }
    }

    service {
      name = "app-${i}"
      port = "http"
      tags = ["v${i}", "urlprefix-/app-${i}"]

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "app" {
      driver = "docker"

      config {
        image = "${image}"
        ports = ["http"]
        args  = ["--port", "\${NOMAD_PORT_http}", "--name", "app-${i}"]
      }

      env {
        APP_NAME  = "app-${i}"
        LOG_LEVEL = "info"
      }

      template {
        destination = "local/app.conf"
        change_mode = "restart"
        data        = <<-EOT
${template}
        EOT
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }

    task "sidecar" {
      driver = "docker"
      lifecycle {
        hook    = "prestart"
        sidecar = true
      }

      config {
        image = ${i % 2 === 0 ? "var.sidecar_image" : "local.proxy_image"}
      }
    }
  }
`;
}
