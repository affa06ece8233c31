# nomad-gitops-bot running on the cluster it deploys to: stateless replicas behind any load balancer
# that routes GitHub's webhooks to the "http" service. Every secret comes from Nomad Variables at
# nomad/jobs/nomad-gitops-bot (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, REGISTRY_AUTH_JSON, and REDIS_URL for
# more than one replica: the replicas share per-repository locks and GitHub's write budget through it).

variable "image" {
  type        = string
  description = "The bot's own image; pin it with a digest like any other service."
  default     = "ghcr.io/nomad-gitops/nomad-gitops-bot:0.1.0"
}

variable "replicas" {
  type    = number
  default = 2
}

job "nomad-gitops-bot" {
  type = "service"

  group "bot" {
    count = var.replicas

    update {
      max_parallel     = 1
      min_healthy_time = "10s"
      healthy_deadline = "3m"
      auto_revert      = true
    }

    spread {
      attribute = "${node.unique.id}"
    }

    network {
      port "http" {
        to = 3000
      }
    }

    service {
      name     = "nomad-gitops-bot"
      port     = "http"
      provider = "nomad"
      tags     = ["webhooks"]

      check {
        type     = "http"
        path     = "/ping"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "bot" {
      driver = "docker"

      config {
        image = var.image
        ports = ["http"]
      }

      # Secrets are rendered from Nomad Variables into the secrets dir, never into the job spec.
      template {
        destination = "${NOMAD_SECRETS_DIR}/bot.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{- with nomadVar "nomad/jobs/nomad-gitops-bot" }}
          APP_ID={{ .APP_ID }}
          WEBHOOK_SECRET={{ .WEBHOOK_SECRET }}
          {{- if .REDIS_URL }}
          REDIS_URL={{ .REDIS_URL }}
          {{- end }}
          {{- end }}
        EOT
      }

      # The PEM key spans lines, which an env file cannot hold: Probot reads it from PRIVATE_KEY_PATH.
      template {
        destination = "${NOMAD_SECRETS_DIR}/private-key.pem"
        change_mode = "restart"
        perms       = "0400"
        data        = <<-EOT
          {{- with nomadVar "nomad/jobs/nomad-gitops-bot" }}{{ .PRIVATE_KEY }}{{ end }}
        EOT
      }

      template {
        destination = "${NOMAD_SECRETS_DIR}/registry-auth.json"
        change_mode = "restart"
        perms       = "0400"
        data        = <<-EOT
          {{- with nomadVar "nomad/jobs/nomad-gitops-bot" }}{{ .REGISTRY_AUTH_JSON }}{{ end }}
        EOT
      }

      env {
        HOST               = "0.0.0.0"
        PORT               = "3000"
        LOG_FORMAT         = "json"
        REGISTRY_AUTH_FILE = "${NOMAD_SECRETS_DIR}/registry-auth.json"
        PRIVATE_KEY_PATH   = "${NOMAD_SECRETS_DIR}/private-key.pem"
      }

      # Measured (BENCHMARKS.md "Memory: one large job file", 2-CPU machine, 2026-12-07): the App at
      # rest holds 95-120 MiB; a whole CLI plan of a 5 MiB job file peaks at 203 MiB (apply 197 MiB),
      # a few MiB more per further MiB, and job files over 8 MiB are refused. 512 MiB covers one
      # deploy of the largest file accepted plus the App's own copies of that file (GraphQL answer,
      # inline tree) and a second installation's deploy beside it; 256 MiB was killed by a 5 MB file
      # before the large-file path was cut down, and leaves too little room beside the App at rest.
      resources {
        cpu    = 200
        memory = 512
      }
    }
  }
}
