variable "name" {
  description = "Group name (sip-edge, media, rtp-relay)."
  type        = string
}

variable "role" {
  description = "The Voxbin role every VM of the group runs."
  type        = string
}

variable "region" {
  description = "Region of the regional managed instance group."
  type        = string
}

variable "zones" {
  description = "Zones the group spreads over."
  type        = list(string)
}

variable "machine_type" {
  description = "The seed's machine type for this role."
  type        = string
}

variable "size" {
  description = "Number of VMs (0 keeps a warm-standby group ready to scale)."
  type        = number
}

variable "disk_gb" {
  description = "SSD boot disk in GB."
  type        = number
}

variable "subnetwork" {
  description = "Subnet of the VMs (the seed's voip subnet)."
  type        = string
}

variable "service_account" {
  description = "Service account of the VMs (reads the image and the secrets)."
  type        = string
}

variable "sip_advertise" {
  description = "host:port the SIP edge writes into Via and Record-Route (the SIP load balancer's address)."
  type        = string
}
