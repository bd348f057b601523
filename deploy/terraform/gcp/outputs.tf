output "api_address" {
  description = "Global address of the API load balancer: point api.<domain> here."
  value       = google_compute_global_address.api.address
}

output "sip_address" {
  description = "Address of the SIP load balancer: point sip.<domain> here."
  value       = google_compute_address.sip.address
}

output "db_primary" {
  description = "Cloud SQL primary instance name and private address."
  value       = { name = google_sql_database_instance.primary.name, ip = google_sql_database_instance.primary.private_ip_address }
}

output "db_replicas" {
  description = "Read replica names."
  value       = google_sql_database_instance.replica[*].name
}

output "dr_db_replica" {
  description = "The DR region's replica, promoted in a regional failover."
  value       = module.dr.db_replica_name
}

output "gke_cluster" {
  description = "The production GKE cluster."
  value       = google_container_cluster.main.name
}
