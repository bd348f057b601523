# Memorystore for Redis: standard tier (a failover replica), 16 GB, Redis 6, private network.

resource "google_redis_instance" "cache" {
  name               = "voxbin-cache"
  region             = var.region
  tier               = "STANDARD_HA"
  memory_size_gb     = var.redis_memory_gb
  redis_version      = "REDIS_6_X"
  authorized_network = google_compute_network.vpc.id
  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  depends_on         = [google_service_networking_connection.private_services]

  # Cache entries carry their own TTLs (DESIGN.md section 6); evict the soonest-expiring first.
  redis_configs = {
    maxmemory-policy = "volatile-ttl"
  }

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 4
        minutes = 0
      }
    }
  }
}
