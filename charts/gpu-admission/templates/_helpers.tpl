{{/*
Names are fixed, not derived from the release name: the policy ConfigMap
(gpu-admission-policy) is a public name, and the webhook configurations and the PriorityClass
are cluster-scoped, so one release per cluster is the model (as with manifests/base).
*/}}

{{- define "gpu-admission.labels" -}}
app.kubernetes.io/name: gpu-admission
app.kubernetes.io/part-of: gpu-admission
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* "true" when the webhook server runs in the cluster (no URL override). */}}
{{- define "gpu-admission.inCluster" -}}
{{- if not .Values.webhook.url }}true{{ end }}
{{- end }}

{{/* The clientConfig of a webhook; the argument is a dict with root, path and caBundle. */}}
{{- define "gpu-admission.clientConfig" -}}
{{- $v := .root.Values -}}
{{- if $v.webhook.url }}
url: {{ printf "%s%s" (trimSuffix "/" $v.webhook.url) .path | quote }}
{{- else }}
service:
  name: gpu-admission
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: 443
{{- end }}
{{- with .caBundle }}
caBundle: {{ . }}
{{- end }}
{{- end }}
