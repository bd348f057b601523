# One role of the VoIP tier on VMs: Container-Optimized OS running the Voxbin image on the host
# network (SIP and the RTP range 10000-60000 on the VM's own address), health-checked on
# /ready:8080, replaced one VM at a time (max surge 1, none unavailable) on deploys.

resource "google_compute_instance_template" "voip" {
  name_prefix  = "voxbin-${var.name}-"
  machine_type = var.machine_type
  tags         = ["voxbin-voip"]
  labels = {
    voxbin-role = var.role
  }

  disk {
    source_image = "cos-cloud/cos-stable"
    disk_type    = "pd-ssd"
    disk_size_gb = var.disk_gb
    boot         = true
    auto_delete  = true
  }

  network_interface {
    subnetwork = var.subnetwork
    # An external address per VM: RTP flows straight to the node that owns the call.
    access_config {}
  }

  metadata = {
    startup-script = templatefile("${path.module}/startup.sh.tftpl", {
      role          = var.role
      sip_advertise = var.sip_advertise
    })
  }

  service_account {
    email  = var.service_account
    scopes = ["cloud-platform"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_region_health_check" "ready" {
  name   = "voxbin-${var.name}-ready"
  region = var.region
  http_health_check {
    port         = 8080
    request_path = "/ready"
  }
}

resource "google_compute_region_instance_group_manager" "voip" {
  name                      = "voxbin-${var.name}"
  region                    = var.region
  base_instance_name        = "voxbin-${var.name}"
  distribution_policy_zones = var.zones
  target_size               = var.size

  version {
    instance_template = google_compute_instance_template.voip.id
  }

  auto_healing_policies {
    health_check      = google_compute_region_health_check.ready.id
    initial_delay_sec = 120
  }

  update_policy {
    type                  = "PROACTIVE"
    minimal_action        = "REPLACE"
    max_surge_fixed       = length(var.zones)
    max_unavailable_fixed = 0
  }
}
