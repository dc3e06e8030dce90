#!/usr/bin/env bash
# End-to-end suite on a kind cluster: Envoy Gateway (Helm, with the Gateway API CRDs it bundles), the
# agent-router chart with the image the root Dockerfile builds, simulated model servers as pods, the
# sample CRs; then it waits until Envoy Gateway reports every resource accepted and programmed, checks in
# Envoy's own admin output that the listener was accepted with agent-router's filters, and runs the
# acceptance scenarios through real Envoy (npx vitest run --config e2e-kind/vitest.config.ts).
# Needs Docker, kind, kubectl (1.28 or later), helm and Node 24 (after npm ci). See e2e-kind/README.md.
#   EG_VERSION=v1.9.3      Envoy Gateway chart        KIND_NODE_IMAGE=...   node image (Kubernetes 1.36)
#   CLUSTER=name           kind cluster name          KEEP_CLUSTER=1        leave the cluster up afterwards
#   E2E_ARTIFACTS=dir      diagnostics on failure     E2E_STATUS_TIMEOUT=s  per status wait (default 180)
#   E2E_SPLIT_REQUESTS=n   requests per split scenario (default 2000)
# It runs main when executed; sourced, it only defines its functions (test/e2e-kind/run-sh.test.ts).
set -euo pipefail

CLUSTER="${CLUSTER:-agent-router-e2e}"
# The newest v1.9 patch (release-notes/v1.9.3.yaml, October 3, 2026). EG's compatibility matrix
# (site/content/en/news/releases/matrix.md) gives v1.9: Envoy 1.39, Gateway API v1.6.1, Kubernetes
# v1.33-v1.36, end of life 2027/02/14; v1.7 reached end of life on 2026/08/05.
EG_VERSION="${EG_VERSION:-v1.9.3}"
# kind v0.33.0 defaults to Kubernetes 1.37, which EG v1.9 does not support; this is the v1.36 image
# published with kind v0.33.0 (its release notes: use the digest).
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed}"
NAMESPACE=agent-router-e2e
PROXY_NAMESPACE=envoy-gateway-system
RELEASE=agent-router
IMAGE=agent-router:e2e
ARTIFACTS="${E2E_ARTIFACTS:-e2e-kind/artifacts}"
STATUS_TIMEOUT="${E2E_STATUS_TIMEOUT:-180}"
TOOLS=(docker kind kubectl helm node npx)

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "e2e-kind: $*" >&2
  exit 1
}

check_tools() {
  local tool
  for tool in "${TOOLS[@]}"; do
    command -v "$tool" >/dev/null || { echo "e2e-kind: $tool is not on PATH" >&2; exit 2; }
  done
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  ((major >= 24)) || { echo "e2e-kind: Node $major; the project needs Node 24 (package.json engines)" >&2; exit 2; }
}

# --- Envoy Gateway status -------------------------------------------------------------------------------
# EnvoyPatchPolicy, EnvoyExtensionPolicy and BackendTrafficPolicy carry Gateway API's PolicyStatus: their
# conditions live per ancestor (usually the Gateway) under .status.ancestors[].conditions, never in
# .status.conditions (EG api/v1alpha1/envoypatchpolicy_types.go: `Status gwapiv1a2.PolicyStatus`), so
# `kubectl wait --for=condition=...` never succeeds on them. EG's gateway-api translator sets Accepted per
# ancestor; for an EnvoyPatchPolicy its xDS translator then sets Programmed, False with reason
# ResourceNotFound or Invalid when a patch did not apply (EG testdata: internal/gatewayapi/testdata/
# envoypatchpolicy-valid.out.yaml, internal/xds/translator/testdata/out/xds-ir/jsonpatch*.envoypatchpolicies.yaml).

# The jsonpath of one ancestor's condition status; `kubectl wait --for=jsonpath` compares one value per
# path, so every ancestor gets its own wait.
ancestor_condition() { printf '{.status.ancestors[%d].conditions[?(@.type=="%s")].status}' "$1" "$2"; }

# poll CMD...: prints CMD's output as soon as it is not empty; fails after STATUS_TIMEOUT seconds.
poll() {
  local deadline=$((SECONDS + STATUS_TIMEOUT)) out
  while :; do
    out=$("$@" 2>/dev/null) || true
    if [[ -n $out ]]; then
      printf '%s' "$out"
      return 0
    fi
    ((SECONDS < deadline)) || return 1
    sleep 2
  done
}

describe_ancestors() {
  kubectl get "$1" -n "$NAMESPACE" -o 'jsonpath={range .status.ancestors[*]}{"\n  "}{.ancestorRef.kind}/{.ancestorRef.name}:{range .conditions[*]} {.type}={.status} ({.reason}: {.message}){end}{end}' 2>&1 || true
}

describe_conditions() {
  kubectl get "$1" -n "$NAMESPACE" -o 'jsonpath={range .status.conditions[*]}{"\n  "}{.type}={.status} ({.reason}: {.message}){end}' 2>&1 || true
}

# wait_policy TYPE CONDITION...: every TYPE in NAMESPACE has every CONDITION True on every ancestor.
wait_policy() {
  local type=$1 resources resource ancestors i condition
  shift
  resources=$(kubectl get "$type" -n "$NAMESPACE" -o name)
  [[ -n $resources ]] || fail "no $type in $NAMESPACE, but the chart renders one"
  for resource in $resources; do
    ancestors=$(poll kubectl get "$resource" -n "$NAMESPACE" -o 'jsonpath={range .status.ancestors[*]}x{end}') ||
      fail "$resource has no .status.ancestors after ${STATUS_TIMEOUT}s: Envoy Gateway has not processed it (is its extension API enabled?)"
    for ((i = 0; i < ${#ancestors}; i++)); do
      for condition in "$@"; do
        kubectl wait "$resource" -n "$NAMESPACE" --for="jsonpath=$(ancestor_condition "$i" "$condition")=True" \
          --timeout="${STATUS_TIMEOUT}s" ||
          fail "$resource is not $condition on ancestor $i:$(describe_ancestors "$resource")"
      done
    done
  done
}

# A Backend's status is a plain condition list (EG api/v1alpha1/backend_types.go, BackendStatus: Accepted;
# with the Backend API disabled EG writes no Accepted condition at all), so condition= works here.
wait_backends() {
  local resources resource
  resources=$(kubectl get backend.gateway.envoyproxy.io -n "$NAMESPACE" -o name)
  [[ -n $resources ]] || fail "no backend.gateway.envoyproxy.io in $NAMESPACE, but the chart renders them"
  for resource in $resources; do
    kubectl wait "$resource" -n "$NAMESPACE" --for=condition=Accepted --timeout="${STATUS_TIMEOUT}s" ||
      fail "$resource is not Accepted:$(describe_conditions "$resource")"
  done
}

wait_envoy_gateway() {
  kubectl wait -n "$NAMESPACE" "gateway.gateway.networking.k8s.io/$RELEASE" --for=condition=Programmed \
    --timeout="${STATUS_TIMEOUT}s" || fail "gateway/$RELEASE is not Programmed:$(describe_conditions "gateway.gateway.networking.k8s.io/$RELEASE")"
  wait_backends
  wait_policy envoyextensionpolicy.gateway.envoyproxy.io Accepted
  wait_policy backendtrafficpolicy.gateway.envoyproxy.io Accepted
  wait_policy envoypatchpolicy.gateway.envoyproxy.io Accepted Programmed
  kubectl wait -n "$PROXY_NAMESPACE" --for=condition=Ready pod \
    -l "gateway.envoyproxy.io/owning-gateway-name=$RELEASE,gateway.envoyproxy.io/owning-gateway-namespace=$NAMESPACE" \
    --timeout="${STATUS_TIMEOUT}s"
}

# --- diagnostics ----------------------------------------------------------------------------------------
# pod_logs NAMESPACE SELECTOR DIR: every container's log of the selected pods, one file per pod.
pod_logs() {
  local pod
  for pod in $(kubectl get pods -n "$1" ${2:+-l "$2"} -o name 2>/dev/null); do
    kubectl logs -n "$1" "$pod" --all-containers --prefix --tail=-1 >"$3/${pod#pod/}.log" 2>&1
    kubectl logs -n "$1" "$pod" --all-containers --prefix --tail=-1 --previous >"$3/${pod#pod/}.previous.log" 2>&1
  done
}

collect_diagnostics() {
  set +e
  local dir=$ARTIFACTS kind
  mkdir -p "$dir/logs"
  if ! kubectl version --request-timeout=10s >"$dir/kubectl-version.txt" 2>&1; then
    echo "e2e-kind: no cluster to collect diagnostics from (see $dir/kubectl-version.txt)" >&2
    return 0
  fi
  for kind in gatewayclasses.gateway.networking.k8s.io gateways.gateway.networking.k8s.io \
    httproutes.gateway.networking.k8s.io envoyproxies.gateway.envoyproxy.io \
    envoypatchpolicies.gateway.envoyproxy.io envoyextensionpolicies.gateway.envoyproxy.io \
    backendtrafficpolicies.gateway.envoyproxy.io backends.gateway.envoyproxy.io \
    inferencepools.inference.networking.k8s.io routeconfigs.agentrouter.dev providerbackends.agentrouter.dev \
    apikeys.agentrouter.dev pods services deployments events; do
    kubectl get -A "$kind" -o yaml --request-timeout=30s >"$dir/$kind.yaml" 2>&1
  done
  kubectl get -A pods -o wide >"$dir/pods.txt" 2>&1
  kubectl get -A events --sort-by=.lastTimestamp >"$dir/events.txt" 2>&1
  kubectl logs -n "$PROXY_NAMESPACE" deployment/envoy-gateway --all-containers --prefix --tail=-1 \
    >"$dir/logs/envoy-gateway.log" 2>&1
  # Proxy pods (envoy, shutdown-manager and the agent-router-ext-proc sidecar), then the endpoint picker
  # and the simulated model servers; --previous too, for containers that restarted.
  pod_logs "$PROXY_NAMESPACE" "gateway.envoyproxy.io/owning-gateway-name=$RELEASE" "$dir/logs"
  pod_logs "$NAMESPACE" "" "$dir/logs"
  E2E_NAMESPACE="$NAMESPACE" E2E_PROXY_NAMESPACE="$PROXY_NAMESPACE" E2E_RELEASE="$RELEASE" \
    npx tsx e2e-kind/envoy-admin.ts dump "$dir/envoy" >"$dir/envoy-admin.log" 2>&1
  echo "e2e-kind: diagnostics in $dir" >&2
  return 0
}

cleanup() {
  if [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}

on_exit() {
  local status=$?
  trap - ERR
  if ((status != 0)); then collect_diagnostics; fi
  cleanup
  exit "$status"
}

main() {
  cd "$(dirname "$0")/.."
  check_tools
  mkdir -p "$ARTIFACTS"
  set -E
  trap 'echo "e2e-kind: \"$BASH_COMMAND\" failed (line $LINENO)" >&2' ERR
  trap on_exit EXIT

  step "kind cluster $CLUSTER ($KIND_NODE_IMAGE)"
  kind get clusters 2>/dev/null | grep -x "$CLUSTER" >/dev/null || kind create cluster --name "$CLUSTER" --image "$KIND_NODE_IMAGE" --wait 180s
  kubectl config use-context "kind-$CLUSTER" >/dev/null

  step "image $IMAGE (the root Dockerfile)"
  docker build -t "$IMAGE" .
  kind load docker-image "$IMAGE" --name "$CLUSTER"

  step "Gateway API CRDs and Envoy Gateway $EG_VERSION (Helm)"
  helm upgrade --install eg oci://docker.io/envoyproxy/gateway-helm --version "$EG_VERSION" \
    --namespace "$PROXY_NAMESPACE" --create-namespace \
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

  step "Envoy Gateway accepted and programmed everything"
  wait_envoy_gateway

  step "Envoy accepted the listener with agent-router's filters (admin /config_dump)"
  E2E_NAMESPACE="$NAMESPACE" E2E_PROXY_NAMESPACE="$PROXY_NAMESPACE" E2E_RELEASE="$RELEASE" \
    npx tsx e2e-kind/envoy-admin.ts check "$ARTIFACTS/envoy"

  step "acceptance scenarios through Envoy"
  E2E_NAMESPACE="$NAMESPACE" E2E_PROXY_NAMESPACE="$PROXY_NAMESPACE" E2E_RELEASE="$RELEASE" \
    npx vitest run --config e2e-kind/vitest.config.ts
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
