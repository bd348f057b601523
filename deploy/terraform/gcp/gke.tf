# The GKE cluster for the api and the backend services (namespace production), regional,
# VPC-native in the kubernetes subnet, private nodes, Dataplane V2 (NetworkPolicies enforced).

resource "google_service_account" "gke_nodes" {
  account_id   = "voxbin-gke-nodes"
  display_name = "Voxbin GKE nodes"
}

resource "google_container_cluster" "main" {
  name                     = "voxbin-prod"
  location                 = var.region
  network                  = google_compute_network.vpc.id
  subnetwork               = google_compute_subnetwork.kubernetes.id
  remove_default_node_pool = true
  initial_node_count       = 1
  datapath_provider        = "ADVANCED_DATAPATH"
  deletion_protection      = true

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
    master_ipv4_cidr_block  = "172.16.0.0/28"
  }

  release_channel {
    channel = "REGULAR"
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  addons_config {
    http_load_balancing {
      disabled = false
    }
    horizontal_pod_autoscaling {
      disabled = false
    }
  }
}

resource "google_container_node_pool" "services" {
  name     = "services"
  cluster  = google_container_cluster.main.id
  location = var.region

  autoscaling {
    min_node_count = var.gke_node_count.min
    max_node_count = var.gke_node_count.max
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
  }

  node_config {
    machine_type    = var.gke_node_machine_type
    disk_type       = "pd-ssd"
    disk_size_gb    = 100
    service_account = google_service_account.gke_nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    tags            = ["voxbin-gke-node"]
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }
}

# With voip_runtime = "gke", the VoIP tier runs on dedicated, tainted node pools of the seed's
# machine types instead of VM groups (deploy/k8s/overlays/gke-voip selects them by label).
resource "google_container_node_pool" "voip" {
  for_each = var.voip_runtime == "gke" ? var.voip_groups : {}

  name       = "voip-${each.key}"
  cluster    = google_container_cluster.main.id
  location   = var.region
  node_count = 1

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
  }

  node_config {
    machine_type    = each.value.machine_type
    disk_type       = "pd-ssd"
    disk_size_gb    = each.value.disk_gb
    service_account = google_service_account.gke_nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    tags            = ["voxbin-gke-node", "voxbin-voip"]
    labels = {
      "voxbin.io/pool" = local.voip_pool_label[each.key]
    }
    taint {
      key    = "voxbin.io/pool"
      value  = local.voip_pool_label[each.key]
      effect = "NO_SCHEDULE"
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }
}

locals {
  # Node pool labels the voip component's nodeSelectors use.
  voip_pool_label = {
    sip-edge  = "voip-sip"
    media     = "voip-media"
    rtp-relay = "voip-rtp"
  }
}
