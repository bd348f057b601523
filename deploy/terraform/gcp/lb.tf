# External HTTPS load balancer of the API (api.<domain>): the global address and the
# Google-managed certificate; GKE's Ingress (deploy/k8s/overlays/production) builds the load
# balancer on them, with container-native backends to the api pods.

resource "google_compute_global_address" "api" {
  name = "voxbin-api"
}

resource "google_compute_managed_ssl_certificate" "api" {
  name = "voxbin-api"
  managed {
    domains = [var.api_domain]
  }
}
