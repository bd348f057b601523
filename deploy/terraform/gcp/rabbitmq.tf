# RabbitMQ: three nodes in the data subnet (4 vCPU, 16 GB, 100 GB SSD each), configured by
# deploy/rabbitmq (quorum queues and the bin-manager.* policy).

resource "google_compute_instance" "rabbitmq" {
  count        = var.rabbitmq_nodes
  name         = "rabbitmq-${count.index + 1}"
  zone         = var.zones[count.index % length(var.zones)]
  machine_type = var.rabbitmq_machine_type
  tags         = ["voxbin-rabbitmq"]

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
      type  = "pd-ssd"
      size  = var.rabbitmq_disk_gb
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.data.id
  }

  metadata = {
    startup-script = templatefile("${path.module}/rabbitmq-startup.sh.tftpl", {
      rabbitmq_conf = file("${path.module}/../../rabbitmq/rabbitmq.conf")
      definitions   = file("${path.module}/../../rabbitmq/definitions.json")
      cookie        = random_password.rabbitmq_cookie.result
    })
  }

  service_account {
    scopes = ["cloud-platform"]
  }
}

resource "random_password" "rabbitmq_cookie" {
  length  = 48
  special = false
}
