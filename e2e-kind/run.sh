#!/usr/bin/env bash
# End-to-end suite on a kind cluster: Gateway API CRDs and Envoy Gateway (Helm), the agent-router chart
# with an image built from this repository, simulated model servers as pods, the sample CRs, then the
# acceptance scenarios through real Envoy (npx vitest run --config e2e-kind/vitest.config.ts).
# Needs Docker, kind, kubectl and helm on PATH. Meant for CI; see e2e-kind/README.md.
#   KEEP_CLUSTER=1   leave the cluster up afterwards      EG_VERSION=v1.7.0   Envoy Gateway chart version
#   CLUSTER=name     kind cluster name                      E2E_SPLIT_REQUESTS=2000  requests per split test
set -euo pipefail

cd "$(dirname "$0")/.."
CLUSTER="${CLUSTER:-agent-router-e2e}"
EG_VERSION="${EG_VERSION:-v1.7.0}"
NAMESPACE=agent-router-e2e
RELEASE=agent-router
IMAGE=agent-router:e2e

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "e2e-kind: $tool is not on PATH" >&2; exit 2; }
done

cleanup() {
  if [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "kind cluster $CLUSTER"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 180s
kubectl config use-context "kind-$CLUSTER" >/dev/null

step "image $IMAGE"
docker build -f e2e-kind/Dockerfile -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

step "Gateway API CRDs and Envoy Gateway $EG_VERSION (Helm)"
helm upgrade --install eg oci://docker.io/envoyproxy/gateway-helm --version "$EG_VERSION" \
  --namespace envoy-gateway-system --create-namespace \
  --values e2e-kind/manifests/envoy-gateway-values.yaml --wait --timeout 5m
kubectl apply -f e2e-kind/manifests/gatewayclass.yaml

kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
step "simulated model servers (pods the InferencePool selects, stand-ins for hosted providers)"
kubectl apply -n "$NAMESPACE" -f e2e-kind/manifests/sims.yaml

step "agent-router chart (CRDs, sidecar, filters, routes, endpoint picker)"
helm upgrade --install "$RELEASE" charts/agent-router --namespace "$NAMESPACE" \
  --values e2e-kind/manifests/values-e2e.yaml --wait --timeout 5m

step "sample CRs"
kubectl apply -n "$NAMESPACE" -f e2e-kind/manifests/sample-crs.yaml
kubectl wait -n "$NAMESPACE" --for=condition=Available deployment --all --timeout=5m

step "Envoy Gateway programmed everything"
kubectl wait -n "$NAMESPACE" --for=condition=Programmed "gateway/$RELEASE" --timeout=5m
kubectl wait -n "$NAMESPACE" --for=condition=Programmed envoypatchpolicy --all --timeout=2m
kubectl wait -n envoy-gateway-system --for=condition=Ready pod \
  -l "gateway.envoyproxy.io/owning-gateway-name=$RELEASE" --timeout=5m

step "acceptance scenarios through Envoy"
E2E_NAMESPACE="$NAMESPACE" E2E_RELEASE="$RELEASE" npx vitest run --config e2e-kind/vitest.config.ts
