# Sizes and names; the defaults are the seed's production figures.

variable "project_id" {
  description = "GCP project that holds the deployment."
  type        = string
}

variable "region" {
  description = "Primary region (the seed's us-central1)."
  type        = string
  default     = "us-central1"
}

variable "zones" {
  description = "Zones of the primary region the VoIP groups and RabbitMQ nodes spread over."
  type        = list(string)
  default     = ["us-central1-a", "us-central1-b", "us-central1-c"]
}

variable "dr_region" {
  description = "Warm-standby region for disaster recovery (the seed's us-east1)."
  type        = string
  default     = "us-east1"
}

variable "network_name" {
  description = "VPC name (the seed's voipbin-prod)."
  type        = string
  default     = "voxbin-prod"
}

variable "subnets" {
  description = "The seed's four subnets."
  type        = map(string)
  default = {
    public     = "10.0.0.0/24"
    kubernetes = "10.0.1.0/24"
    voip       = "10.0.2.0/24"
    data       = "10.0.3.0/24"
  }
}

variable "gke_pod_range" {
  description = "Secondary range of the kubernetes subnet for pod addresses."
  type        = string
  default     = "10.4.0.0/14"
}

variable "gke_service_range" {
  description = "Secondary range of the kubernetes subnet for Service addresses."
  type        = string
  default     = "10.8.0.0/20"
}

variable "private_services_range" {
  description = "Range peered to Google's services network, where Cloud SQL and Memorystore get their private addresses."
  type        = string
  default     = "10.0.16.0/20"
}

variable "gke_node_machine_type" {
  description = "Machine type of the general node pool (api and backend services)."
  type        = string
  default     = "e2-standard-8"
}

variable "gke_node_count" {
  description = "Minimum and maximum nodes per zone of the general pool."
  type        = object({ min = number, max = number })
  default     = { min = 1, max = 10 }
}

variable "voip_runtime" {
  description = "Where the VoIP tier runs: \"vm\" (the seed's VM groups, default) or \"gke\" (dedicated node pools; deploy/k8s/overlays/gke-voip)."
  type        = string
  default     = "vm"
  validation {
    condition     = contains(["vm", "gke"], var.voip_runtime)
    error_message = "voip_runtime must be \"vm\" or \"gke\"."
  }
}

variable "voip_groups" {
  description = "The VoIP tier: the seed's Kamailio, Asterisk and RTPEngine groups, each a Voxbin role."
  type = map(object({
    role         = string
    machine_type = string
    size         = number
    disk_gb      = number
  }))
  default = {
    sip-edge  = { role = "sip-edge", machine_type = "n1-standard-4", size = 3, disk_gb = 100 }
    media     = { role = "media", machine_type = "n1-standard-8", size = 3, disk_gb = 200 }
    rtp-relay = { role = "rtp-relay", machine_type = "n1-highcpu-8", size = 3, disk_gb = 50 }
  }
}

variable "voxbin_image" {
  description = "Image the VoIP VMs start with; deploys change the project metadata item voxbin-image and roll the groups."
  type        = string
  default     = "gcr.io/voxbin-prod/voxbin:latest"
}

variable "db_primary_tier" {
  description = "Cloud SQL primary machine (8 vCPU, 32 GB)."
  type        = string
  default     = "db-custom-8-32768"
}

variable "db_replica_tier" {
  description = "Cloud SQL read replica machine (4 vCPU, 16 GB)."
  type        = string
  default     = "db-custom-4-16384"
}

variable "db_replica_count" {
  description = "Read replicas in the primary region."
  type        = number
  default     = 3
}

variable "db_disk_gb" {
  description = "SSD storage per Cloud SQL instance, in GB (1 TB)."
  type        = number
  default     = 1000
}

variable "redis_memory_gb" {
  description = "Memorystore capacity in GB."
  type        = number
  default     = 16
}

variable "rabbitmq_nodes" {
  description = "RabbitMQ cluster size."
  type        = number
  default     = 3
}

variable "rabbitmq_machine_type" {
  description = "RabbitMQ node machine (4 vCPU, 16 GB)."
  type        = string
  default     = "e2-standard-4"
}

variable "rabbitmq_disk_gb" {
  description = "RabbitMQ node SSD in GB."
  type        = number
  default     = 100
}

variable "api_domain" {
  description = "Public name of the REST API (the seed's api.voipbin.net)."
  type        = string
  default     = "api.voxbin.example.com"
}
