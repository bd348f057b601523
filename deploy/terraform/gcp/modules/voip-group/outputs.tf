output "instance_group" {
  description = "The group's instance group, for load balancer backends."
  value       = google_compute_region_instance_group_manager.voip.instance_group
}
