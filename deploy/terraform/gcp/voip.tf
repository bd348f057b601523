# The VoIP tier as the seed runs it (voip_runtime = "vm"): one managed instance group per role
# in the voip subnet, on the seed's machine types, each VM running the Voxbin image on the
# host network; and the external L4 load balancer for SIP in front of the sip-edge group.

resource "google_service_account" "voip" {
  account_id   = "voxbin-voip"
  display_name = "Voxbin VoIP VMs"
}

# The image the VoIP VMs run; deploys set it (gcloud compute project-info add-metadata) and
# roll the groups, so Terraform only creates it.
resource "google_compute_project_metadata_item" "voxbin_image" {
  key   = "voxbin-image"
  value = var.voxbin_image
  lifecycle {
    ignore_changes = [value]
  }
}

module "voip_group" {
  source   = "./modules/voip-group"
  for_each = var.voip_runtime == "vm" ? var.voip_groups : {}

  name            = each.key
  role            = each.value.role
  region          = var.region
  zones           = var.zones
  machine_type    = each.value.machine_type
  size            = each.value.size
  disk_gb         = each.value.disk_gb
  subnetwork      = google_compute_subnetwork.voip.id
  service_account = google_service_account.voip.email
  sip_advertise   = "${google_compute_address.sip.address}:5060"
}

resource "google_compute_address" "sip" {
  name   = "voxbin-sip"
  region = var.region
}

resource "google_compute_region_health_check" "sip_edge" {
  count  = var.voip_runtime == "vm" ? 1 : 0
  name   = "voxbin-sip-edge-ready"
  region = var.region
  http_health_check {
    port         = 8080
    request_path = "/ready"
  }
}

# sip.<domain>: UDP 5060 and TCP 5060-5061 on one address, passed through to the edge VMs
# (the caller's source address is kept).
resource "google_compute_region_backend_service" "sip" {
  for_each = var.voip_runtime == "vm" ? toset(["UDP", "TCP"]) : toset([])

  name                            = "voxbin-sip-${lower(each.key)}"
  region                          = var.region
  protocol                        = each.key
  load_balancing_scheme           = "EXTERNAL"
  health_checks                   = [google_compute_region_health_check.sip_edge[0].id]
  connection_draining_timeout_sec = 120
  backend {
    group          = module.voip_group["sip-edge"].instance_group
    balancing_mode = "CONNECTION"
  }
}

resource "google_compute_forwarding_rule" "sip_udp" {
  count                 = var.voip_runtime == "vm" ? 1 : 0
  name                  = "voxbin-sip-udp"
  region                = var.region
  ip_address            = google_compute_address.sip.address
  ip_protocol           = "UDP"
  ports                 = ["5060"]
  load_balancing_scheme = "EXTERNAL"
  backend_service       = google_compute_region_backend_service.sip["UDP"].id
}

resource "google_compute_forwarding_rule" "sip_tcp" {
  count                 = var.voip_runtime == "vm" ? 1 : 0
  name                  = "voxbin-sip-tcp"
  region                = var.region
  ip_address            = google_compute_address.sip.address
  ip_protocol           = "TCP"
  port_range            = "5060-5061"
  load_balancing_scheme = "EXTERNAL"
  backend_service       = google_compute_region_backend_service.sip["TCP"].id
}
