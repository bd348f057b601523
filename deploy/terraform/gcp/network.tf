# VPC voxbin-prod with the seed's four subnets, NAT for outbound traffic, and the seed's
# firewall table.

resource "google_compute_network" "vpc" {
  name                    = var.network_name
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "public" {
  name          = "public"
  region        = var.region
  network       = google_compute_network.vpc.id
  ip_cidr_range = var.subnets["public"]
}

resource "google_compute_subnetwork" "kubernetes" {
  name                     = "kubernetes"
  region                   = var.region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.subnets["kubernetes"]
  private_ip_google_access = true
  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = var.gke_pod_range
  }
  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = var.gke_service_range
  }
}

resource "google_compute_subnetwork" "voip" {
  name                     = "voip"
  region                   = var.region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.subnets["voip"]
  private_ip_google_access = true
}

resource "google_compute_subnetwork" "data" {
  name                     = "data"
  region                   = var.region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.subnets["data"]
  private_ip_google_access = true
}

# Cloud SQL and Memorystore private addresses come from this peered range.
resource "google_compute_global_address" "private_services" {
  name          = "private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  network       = google_compute_network.vpc.id
  address       = split("/", var.private_services_range)[0]
  prefix_length = tonumber(split("/", var.private_services_range)[1])
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}

resource "google_compute_router" "nat" {
  name    = "nat"
  region  = var.region
  network = google_compute_network.vpc.id
}

resource "google_compute_router_nat" "nat" {
  name                               = "nat"
  router                             = google_compute_router.nat.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}

# --- Ingress (external) --------------------------------------------------------------------

resource "google_compute_firewall" "allow_https" {
  name          = "allow-https"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = ["0.0.0.0/0"]
  target_tags   = ["voxbin-gke-node"]
  allow {
    protocol = "tcp"
    ports    = ["443"]
  }
}

resource "google_compute_firewall" "allow_sip" {
  name          = "allow-sip"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = ["0.0.0.0/0"]
  target_tags   = ["voxbin-voip"]
  allow {
    protocol = "udp"
    ports    = ["5060-5061"]
  }
  allow {
    protocol = "tcp"
    ports    = ["5060-5061"]
  }
}

resource "google_compute_firewall" "allow_rtp" {
  name          = "allow-rtp"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = ["0.0.0.0/0"]
  target_tags   = ["voxbin-voip"]
  allow {
    protocol = "udp"
    ports    = ["10000-60000"]
  }
}

# Google's load balancer health checkers reach /ready on 8080.
resource "google_compute_firewall" "allow_health_checks" {
  name          = "allow-health-checks"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = ["35.191.0.0/16", "130.211.0.0/22", "209.85.152.0/22", "209.85.204.0/22"]
  target_tags   = ["voxbin-gke-node", "voxbin-voip"]
  allow {
    protocol = "tcp"
    ports    = ["8080", "443"]
  }
}

# --- Internal ------------------------------------------------------------------------------

resource "google_compute_firewall" "allow_k8s_internal" {
  name          = "allow-k8s-internal"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = [var.subnets["kubernetes"], var.gke_pod_range]
  allow {
    protocol = "all"
  }
}

resource "google_compute_firewall" "allow_voip_internal" {
  name          = "allow-voip-internal"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = [var.subnets["voip"]]
  allow {
    protocol = "all"
  }
}

# MySQL and Redis only from the services. Cloud SQL and Memorystore sit in the peered range,
# where ingress rules of this VPC do not apply, so the rule is an egress allow for the
# service machines plus an egress deny for everything else.
resource "google_compute_firewall" "allow_db_access" {
  name               = "allow-db-access"
  network            = google_compute_network.vpc.name
  direction          = "EGRESS"
  priority           = 900
  destination_ranges = [var.subnets["data"], var.private_services_range]
  target_tags        = ["voxbin-gke-node", "voxbin-voip"]
  allow {
    protocol = "tcp"
    ports    = ["3306", "6379"]
  }
}

resource "google_compute_firewall" "deny_db_access" {
  name               = "deny-db-access"
  network            = google_compute_network.vpc.name
  direction          = "EGRESS"
  priority           = 1000
  destination_ranges = [var.subnets["data"], var.private_services_range]
  deny {
    protocol = "tcp"
    ports    = ["3306", "6379", "5672"]
  }
}

# RabbitMQ only from the services: the cluster subnet, its pods, and (unlike the seed, whose
# Asterisk hosts did not use the bus) the VoIP VMs, whose media role is driven over the bus.
resource "google_compute_firewall" "allow_rabbit" {
  name          = "allow-rabbit"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = [var.subnets["kubernetes"], var.gke_pod_range, var.subnets["voip"]]
  target_tags   = ["voxbin-rabbitmq"]
  allow {
    protocol = "tcp"
    ports    = ["5672"]
  }
}

resource "google_compute_firewall" "allow_rabbit_egress" {
  name               = "allow-rabbit-egress"
  network            = google_compute_network.vpc.name
  direction          = "EGRESS"
  priority           = 900
  destination_ranges = [var.subnets["data"]]
  target_tags        = ["voxbin-gke-node", "voxbin-voip"]
  allow {
    protocol = "tcp"
    ports    = ["5672"]
  }
}

# RabbitMQ nodes talk to each other (epmd, distribution, quorum queue replication).
resource "google_compute_firewall" "allow_rabbit_cluster" {
  name        = "allow-rabbit-cluster"
  network     = google_compute_network.vpc.name
  direction   = "INGRESS"
  source_tags = ["voxbin-rabbitmq"]
  target_tags = ["voxbin-rabbitmq"]
  allow {
    protocol = "tcp"
    ports    = ["4369", "25672", "35672-35682"]
  }
}

# Prometheus (in the cluster) scrapes RabbitMQ's metrics.
resource "google_compute_firewall" "allow_rabbit_metrics" {
  name          = "allow-rabbit-metrics"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = [var.gke_pod_range]
  target_tags   = ["voxbin-rabbitmq"]
  allow {
    protocol = "tcp"
    ports    = ["15692"]
  }
}
