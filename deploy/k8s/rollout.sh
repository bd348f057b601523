#!/usr/bin/env bash
# Rolls a new Voxbin image out to production (the CircleCI deploy step; also by hand):
#   bash deploy/k8s/rollout.sh gcr.io/voxbin-prod/voxbin:<tag> [overlay]     (overlay: production)
# 1. renders the overlay with the new image; 2. runs the migration Job and waits for it;
# 3. applies everything (Deployments roll one pod at a time: maxSurge 1, maxUnavailable 0);
# 4. waits for every Deployment; 5. with VOXBIN_VOIP_VMS=1, points the VoIP VM groups at the
# image and replaces their VMs one by one (terraform/gcp, voip_runtime = "vm").
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${1:?usage: rollout.sh IMAGE [OVERLAY]}
overlay=${2:-production}
namespace=${NAMESPACE:-production}
region=${REGION:-us-central1}
timeout=${ROLLOUT_TIMEOUT:-15m}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
kubectl kustomize "deploy/k8s/overlays/$overlay" |
  sed "s#image: gcr.io/voxbin-prod/voxbin:latest#image: $image#" >"$out"
grep -q "image: $image" "$out" || {
  echo "rollout: the overlay does not use gcr.io/voxbin-prod/voxbin:latest; image not set" >&2
  exit 1
}

# A Job's pod template is immutable: the previous release's Job goes first.
kubectl -n "$namespace" delete job voxbin-migrate --ignore-not-found --wait=true
kubectl apply -f "$out" -l app.kubernetes.io/component=migrate
kubectl -n "$namespace" wait --for=condition=complete job/voxbin-migrate --timeout="$timeout"

kubectl apply -f "$out"
for deployment in $(kubectl -n "$namespace" get deployments -l app.kubernetes.io/part-of=voxbin -o name); do
  kubectl -n "$namespace" rollout status "$deployment" --timeout="$timeout"
done

if [ "${VOXBIN_VOIP_VMS:-0}" = 1 ]; then
  gcloud compute project-info add-metadata --metadata "voxbin-image=$image"
  for group in sip-edge media rtp-relay; do
    gcloud compute instance-groups managed rolling-action replace "voxbin-$group" \
      --region "$region" --max-surge 3 --max-unavailable 0
    gcloud compute instance-groups managed wait-until "voxbin-$group" --stable --region "$region"
  done
fi
echo "rollout: $image is live in $namespace"
