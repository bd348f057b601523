output "db_replica_name" {
  description = "The cross-region replica to promote."
  value       = google_sql_database_instance.dr_replica.name
}

output "gke_cluster" {
  description = "The standby cluster."
  value       = google_container_cluster.standby.name
}
