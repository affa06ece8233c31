# Example: a service with a sidecar, pinned by tag only (the bot will add digests).
job "web" {
  datacenters = ["dc1"]

  group "frontend" {
    count = 2

    network {
      port "http" {
        to = 8080
      }
    }

    task "web" {
      driver = "docker"

      config {
        image = "ghcr.io/acme/platform/web:3f2a9c1"
        ports = ["http"]
      }

      # The log shipper is a third-party image, not built by this repo: the bot leaves it alone
      # unless it is listed as a service.
      meta {
        image = "not-an-image-site"
      }
    }

    task "log-shipper" {
      driver = "docker"

      lifecycle {
        hook    = "poststart"
        sidecar = true
      }

      config {
        image = "docker.io/grafana/promtail:3.0.0"
      }
    }
  }
}
