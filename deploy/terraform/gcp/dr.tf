# Disaster recovery: a warm standby in the DR region (the seed's us-east1), promoted by the
# runbook (docs/operations/disaster-recovery.md, deploy/dr/promote-replica).

module "dr" {
  source = "./modules/dr-region"

  project_id           = var.project_id
  region               = var.dr_region
  network_id           = google_compute_network.vpc.id
  network_name         = google_compute_network.vpc.name
  subnets              = { public = "10.1.0.0/24", kubernetes = "10.1.1.0/24", voip = "10.1.2.0/24", data = "10.1.3.0/24" }
  gke_pod_range        = "10.12.0.0/14"
  gke_service_range    = "10.16.0.0/20"
  primary_db_name      = google_sql_database_instance.primary.name
  db_tier              = var.db_primary_tier
  db_disk_gb           = var.db_disk_gb
  redis_memory_gb      = var.redis_memory_gb
  voip_groups          = var.voip_groups
  voip_service_account = google_service_account.voip.email
  depends_on           = [google_service_networking_connection.private_services]
}
