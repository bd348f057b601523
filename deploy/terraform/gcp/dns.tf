# Private names the services use (app-config, db-credentials), so a failover changes a
# record instead of every connection string: db, db-replica-N, redis, rabbitmq-N.

resource "google_dns_managed_zone" "internal" {
  name       = "voxbin-internal"
  dns_name   = "voxbin.internal."
  visibility = "private"
  private_visibility_config {
    networks {
      network_url = google_compute_network.vpc.id
    }
  }
}

resource "google_dns_record_set" "db" {
  managed_zone = google_dns_managed_zone.internal.name
  name         = "db.voxbin.internal."
  type         = "A"
  ttl          = 30
  rrdatas      = [google_sql_database_instance.primary.private_ip_address]
}

resource "google_dns_record_set" "db_replica" {
  count        = var.db_replica_count
  managed_zone = google_dns_managed_zone.internal.name
  name         = "db-replica-${count.index + 1}.voxbin.internal."
  type         = "A"
  ttl          = 30
  rrdatas      = [google_sql_database_instance.replica[count.index].private_ip_address]
}

resource "google_dns_record_set" "redis" {
  managed_zone = google_dns_managed_zone.internal.name
  name         = "redis.voxbin.internal."
  type         = "A"
  ttl          = 30
  rrdatas      = [google_redis_instance.cache.host]
}

resource "google_dns_record_set" "rabbitmq" {
  count        = var.rabbitmq_nodes
  managed_zone = google_dns_managed_zone.internal.name
  name         = "rabbitmq-${count.index + 1}.voxbin.internal."
  type         = "A"
  ttl          = 30
  rrdatas      = [google_compute_instance.rabbitmq[count.index].network_interface[0].network_ip]
}
