{{/* Names: <release>-<chart> truncated to 63, as Kubernetes names allow. */}}
{{- define "agent-router.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agent-router.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name derived from the full name plus a suffix, kept under 63 characters with a stable hash. */}}
{{- define "agent-router.child" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $name := printf "%s-%s" (include "agent-router.fullname" $root) $suffix -}}
{{- if gt (len $name) 63 -}}
{{- printf "%s-%s" ($name | trunc 54 | trimSuffix "-") ($name | sha256sum | trunc 8) -}}
{{- else -}}
{{- $name -}}
{{- end -}}
{{- end -}}

{{- define "agent-router.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "agent-router.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agent-router
{{- end -}}

{{- define "agent-router.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agent-router.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "agent-router.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "agent-router.gatewayName" -}}
{{- default (include "agent-router.fullname" .) .Values.gateway.name -}}
{{- end -}}

{{/*
The Envoy Gateway release the chart is installed next to, checked once: every template that depends on
what that release supports reads it through here. v1.6 is the oldest with everything the chart renders
(Backend tls.sni came in v1.6; BackendTrafficPolicy retry.numAttemptsPerPriority in v1.5).
*/}}
{{- define "agent-router.envoyGatewayVersion" -}}
{{- $v := toString .Values.gateway.envoyGatewayVersion -}}
{{- if not (semverCompare ">=1.6.0-0" $v) -}}
{{- fail (printf "gateway.envoyGatewayVersion %s: this chart needs Envoy Gateway v1.6 or later (Backend tls.sni); it is tested against the v1.9 line" $v) -}}
{{- end -}}
{{- $v -}}
{{- end -}}

{{/*
How Envoy Gateway names the xDS resources the EnvoyPatchPolicy patches. "v1": the listener, its filter
chain and RouteConfiguration are all <gateway ns>/<gateway>/<listener>. "v2" (the runtime flag
XDSNameSchemeV2, default from v1.10): the listener is tcp-<port> and an HTTP listener's RouteConfiguration
is http-<port>, the Gateway listener's port; an HTTPS listener's RouteConfiguration keeps the v1 name (envoyproxy/gateway internal/xds/translator testdata
xds-name-scheme-v2). Set gateway.xdsNameScheme when the flag differs from the release's default.
*/}}
{{- define "agent-router.xdsNameScheme" -}}
{{- if .Values.gateway.xdsNameScheme -}}
{{- .Values.gateway.xdsNameScheme -}}
{{- else if semverCompare ">=1.10.0-0" (include "agent-router.envoyGatewayVersion" .) -}}
v2
{{- else -}}
v1
{{- end -}}
{{- end -}}

{{- define "agent-router.xdsListenerName" -}}
{{- if eq (include "agent-router.xdsNameScheme" .) "v2" -}}
{{- printf "tcp-%d" (int .Values.gateway.listener.port) -}}
{{- else -}}
{{- printf "%s/%s/%s" .Release.Namespace (include "agent-router.gatewayName" .) .Values.gateway.listener.name -}}
{{- end -}}
{{- end -}}

{{- define "agent-router.xdsRouteConfigName" -}}
{{- if and (eq (include "agent-router.xdsNameScheme" .) "v2") (eq .Values.gateway.listener.protocol "HTTP") -}}
{{- printf "http-%d" (int .Values.gateway.listener.port) -}}
{{- else -}}
{{- printf "%s/%s/%s" .Release.Namespace (include "agent-router.gatewayName" .) .Values.gateway.listener.name -}}
{{- end -}}
{{- end -}}

{{/*
Where Envoy Gateway runs the proxy pods (and so the sidecar and its ServiceAccount): its controller
namespace by default, the Gateway's own namespace (the release namespace) in GatewayNamespace deploy mode.
*/}}
{{- define "agent-router.proxyNamespace" -}}
{{- if eq .Values.gateway.deployMode "GatewayNamespace" -}}
{{- .Release.Namespace -}}
{{- else -}}
{{- .Values.gateway.controllerNamespace -}}
{{- end -}}
{{- end -}}

{{- define "agent-router.extProcServiceAccount" -}}
{{- include "agent-router.child" (list . "ext-proc") -}}
{{- end -}}

{{- define "agent-router.socketPath" -}}
{{- printf "%s/ext-proc.sock" (trimSuffix "/" .Values.extProc.socketDir) -}}
{{- end -}}

{{/* The sidecar's MCP gateway socket, beside the ext_proc one. */}}
{{- define "agent-router.mcpSocketPath" -}}
{{- printf "%s/mcp.sock" (trimSuffix "/" .Values.extProc.socketDir) -}}
{{- end -}}

{{/* The HTTPRoute of one route entry: its target id made DNS-safe. */}}
{{- define "agent-router.routeName" -}}
{{- $root := index . 0 -}}
{{- $target := index . 1 -}}
{{- include "agent-router.child" (list $root (printf "r-%s" ($target | lower | replace "/" "-" | replace "." "-" | replace "_" "-"))) -}}
{{- end -}}

{{- define "agent-router.poolName" -}}
{{- $root := index . 0 -}}
{{- $pool := index . 1 -}}
{{- include "agent-router.child" (list $root (printf "%s-epp" $pool.name)) -}}
{{- end -}}

{{/* The Service that holds a pool's pods as Envoy endpoints (the picker chooses among them). */}}
{{- define "agent-router.poolPodsName" -}}
{{- $root := index . 0 -}}
{{- $pool := index . 1 -}}
{{- include "agent-router.child" (list $root (printf "%s-pods" $pool.name)) -}}
{{- end -}}

{{/* Namespaces whose Secrets may be read: explicit, else the watched ones, else the release namespace. */}}
{{- define "agent-router.secretNamespaces" -}}
{{- $ns := .Values.config.secretNamespaces -}}
{{- if not $ns -}}{{- $ns = .Values.config.watchNamespaces -}}{{- end -}}
{{- if not $ns -}}{{- $ns = list .Release.Namespace -}}{{- end -}}
{{- toJson (uniq $ns) -}}
{{- end -}}

{{/* The --config argument and, for the file source, where the manifests are mounted. */}}
{{- define "agent-router.configArg" -}}
{{- if eq .Values.config.source "file" -}}/etc/agent-router/manifests.yaml{{- else -}}{{ .Values.config.kubernetesArg }}{{- end -}}
{{- end -}}

{{- define "agent-router.configSecretName" -}}
{{- default (include "agent-router.child" (list . "config")) .Values.config.file.existingSecret -}}
{{- end -}}

{{/* Environment shared by both services: who they are and what they may watch (Kubernetes source). */}}
{{- define "agent-router.env" -}}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: AGENT_ROUTER_WATCH_NAMESPACES
  value: {{ join "," .Values.config.watchNamespaces | quote }}
- name: AGENT_ROUTER_SECRET_NAMESPACES
  value: {{ join "," (include "agent-router.secretNamespaces" . | fromJsonArray) | quote }}
{{- end -}}

{{/*
The service-account token, mounted only into agent-router's own container: the Envoy container of the
proxy pod gets no Kubernetes credentials (the pod sets automountServiceAccountToken: false).
*/}}
{{- define "agent-router.tokenVolume" -}}
- name: kube-api-access
  projected:
    defaultMode: 0444
    sources:
      - serviceAccountToken: { path: token, expirationSeconds: 3600 }
      - configMap: { name: kube-root-ca.crt, items: [{ key: ca.crt, path: ca.crt }] }
      - downwardAPI: { items: [{ path: namespace, fieldRef: { fieldPath: metadata.namespace } }] }
{{- end -}}
