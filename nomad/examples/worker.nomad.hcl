# Example: podman can take a tag or a digest but not both, so the bot pins by digest here.
job "worker" {
  type = "batch"

  periodic {
    crons = ["*/15 * * * *"]
  }

  group "worker" {
    task "worker" {
      driver = "podman"

      config {
        image = "docker://ghcr.io/acme/platform/worker:3f2a9c1"
      }
    }
  }
}
