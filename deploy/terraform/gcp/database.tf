# Cloud SQL for MySQL: the primary (regional HA, daily backups with binary logs for
# point-in-time recovery) and three read replicas in the same region. The DR region's replica
# is in modules/dr-region.

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "google_sql_database_instance" "primary" {
  name                = "voxbin-primary"
  region              = var.region
  database_version    = "MYSQL_8_0"
  deletion_protection = true
  depends_on          = [google_service_networking_connection.private_services]

  settings {
    tier              = var.db_primary_tier
    availability_type = "REGIONAL"
    disk_type         = "PD_SSD"
    disk_size         = var.db_disk_gb
    disk_autoresize   = true

    backup_configuration {
      enabled                        = true
      binary_log_enabled             = true
      start_time                     = "03:00"
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = 14
      }
    }

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.vpc.id
    }

    database_flags {
      name  = "character_set_server"
      value = "utf8mb4"
    }

    maintenance_window {
      day  = 7
      hour = 4
    }
  }
}

resource "google_sql_database_instance" "replica" {
  count                = var.db_replica_count
  name                 = "voxbin-replica-${count.index + 1}"
  region               = var.region
  database_version     = "MYSQL_8_0"
  master_instance_name = google_sql_database_instance.primary.name
  deletion_protection  = true

  replica_configuration {
    failover_target = false
  }

  settings {
    tier            = var.db_replica_tier
    disk_type       = "PD_SSD"
    disk_size       = var.db_disk_gb
    disk_autoresize = true

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.vpc.id
    }
  }
}

resource "google_sql_database" "voxbin" {
  name      = "voxbin"
  instance  = google_sql_database_instance.primary.name
  charset   = "utf8mb4"
  collation = "utf8mb4_0900_ai_ci"
}

resource "google_sql_user" "voxbin" {
  name     = "voxbin"
  instance = google_sql_database_instance.primary.name
  host     = "%"
  password = random_password.db.result
}

# The DSNs the db-credentials secret carries (deploy guide: kubectl create secret ...).
resource "google_secret_manager_secret" "db_dsn" {
  secret_id = "voxbin-db-dsn"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "db_dsn" {
  secret      = google_secret_manager_secret.db_dsn.id
  secret_data = "mysql://voxbin:${random_password.db.result}@db.voxbin.internal:3306/voxbin"
}

resource "google_secret_manager_secret" "db_readers" {
  secret_id = "voxbin-db-readers"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "db_readers" {
  secret = google_secret_manager_secret.db_readers.id
  secret_data = join(",", [
    for i in range(var.db_replica_count) :
    "mysql://voxbin:${random_password.db.result}@db-replica-${i + 1}.voxbin.internal:3306/voxbin"
  ])
}
