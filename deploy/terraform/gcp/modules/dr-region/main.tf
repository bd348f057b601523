# The warm standby region: the same four subnets, a GKE cluster with a small node pool (scaled
# up in a failover), a cross-region Cloud SQL replica, a separate Memorystore, and the VoIP
# groups at zero VMs, ready to scale.

resource "google_compute_subnetwork" "subnet" {
  for_each                 = var.subnets
  name                     = "dr-${each.key}"
  region                   = var.region
  network                  = var.network_id
  ip_cidr_range            = each.value
  private_ip_google_access = true

  dynamic "secondary_ip_range" {
    for_each = each.key == "kubernetes" ? { pods = var.gke_pod_range, services = var.gke_service_range } : {}
    content {
      range_name    = secondary_ip_range.key
      ip_cidr_range = secondary_ip_range.value
    }
  }
}

resource "google_container_cluster" "standby" {
  name                     = "voxbin-dr"
  location                 = var.region
  network                  = var.network_id
  subnetwork               = google_compute_subnetwork.subnet["kubernetes"].id
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
    master_ipv4_cidr_block  = "172.16.0.16/28"
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }
}

resource "google_container_node_pool" "standby" {
  name     = "services"
  cluster  = google_container_cluster.standby.id
  location = var.region

  autoscaling {
    min_node_count = 1
    max_node_count = 10
  }

  node_config {
    machine_type = "e2-standard-8"
    disk_type    = "pd-ssd"
    disk_size_gb = 100
    oauth_scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    tags         = ["voxbin-gke-node"]
  }
}

resource "google_sql_database_instance" "dr_replica" {
  name                 = "voxbin-dr-replica"
  region               = var.region
  database_version     = "MYSQL_8_0"
  master_instance_name = var.primary_db_name
  deletion_protection  = true

  replica_configuration {
    failover_target = false
  }

  settings {
    tier            = var.db_tier
    disk_type       = "PD_SSD"
    disk_size       = var.db_disk_gb
    disk_autoresize = true

    ip_configuration {
      ipv4_enabled    = false
      private_network = var.network_id
    }
  }
}

resource "google_redis_instance" "cache" {
  name               = "voxbin-dr-cache"
  region             = var.region
  tier               = "STANDARD_HA"
  memory_size_gb     = var.redis_memory_gb
  redis_version      = "REDIS_6_X"
  authorized_network = var.network_id
  connect_mode       = "PRIVATE_SERVICE_ACCESS"
}

resource "google_compute_address" "sip" {
  name   = "voxbin-dr-sip"
  region = var.region
}

module "voip_group" {
  source   = "../voip-group"
  for_each = var.voip_groups

  name            = "dr-${each.key}"
  role            = each.value.role
  region          = var.region
  zones           = data.google_compute_zones.dr.names
  machine_type    = each.value.machine_type
  size            = 0
  disk_gb         = each.value.disk_gb
  subnetwork      = google_compute_subnetwork.subnet["voip"].id
  service_account = var.voip_service_account
  sip_advertise   = "${google_compute_address.sip.address}:5060"
}

data "google_compute_zones" "dr" {
  region = var.region
}
