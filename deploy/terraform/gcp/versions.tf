# Voxbin on Google Cloud in the seed's layout (deploy/terraform/gcp). Apply with:
#   terraform init && terraform apply -var project_id=<project>
terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
