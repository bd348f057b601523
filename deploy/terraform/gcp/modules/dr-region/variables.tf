variable "project_id" {
  description = "GCP project."
  type        = string
}

variable "region" {
  description = "The DR region."
  type        = string
}

variable "network_id" {
  description = "The shared VPC (GCP VPCs span regions)."
  type        = string
}

variable "network_name" {
  description = "Name of that VPC."
  type        = string
}

variable "subnets" {
  description = "The DR region's copy of the four subnets."
  type        = map(string)
}

variable "gke_pod_range" {
  description = "Pod range of the standby cluster."
  type        = string
}

variable "gke_service_range" {
  description = "Service range of the standby cluster."
  type        = string
}

variable "primary_db_name" {
  description = "The Cloud SQL primary the DR replica follows."
  type        = string
}

variable "db_tier" {
  description = "Machine of the DR replica: the primary's, since it becomes the primary."
  type        = string
}

variable "db_disk_gb" {
  description = "SSD storage of the DR replica in GB."
  type        = number
}

variable "redis_memory_gb" {
  description = "Capacity of the DR region's own Memorystore."
  type        = number
}

variable "voip_groups" {
  description = "The VoIP groups, created with no VMs (ready to scale)."
  type = map(object({
    role         = string
    machine_type = string
    size         = number
    disk_gb      = number
  }))
}

variable "voip_service_account" {
  description = "Service account of the VoIP VMs."
  type        = string
}
