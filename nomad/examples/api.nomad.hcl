# Example: the image comes through a variable default; the bot edits the default, not the task.
variable "api_image" {
  type    = string
  default = "ghcr.io/acme/platform/api:3f2a9c1@sha256:0b9a4c0e2d6f1e8a7c3b5d9f0e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
}

job "api" {
  group "api" {
    task "api" {
      driver = "docker"

      config {
        image = var.api_image
      }

      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}
