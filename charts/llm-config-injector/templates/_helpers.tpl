{{/* Names and labels shared by every template. */}}
{{- define "llmc.name" -}}llm-config-injector{{- end }}

{{- define "llmc.fullname" -}}
{{- if contains "llm-config-injector" .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{ else }}{{ printf "%s-llm-config-injector" .Release.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "llmc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llmc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "llmc.labels" -}}
{{ include "llmc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "llmc.tlsSecret" -}}{{ include "llmc.fullname" . }}-tls{{- end }}

{{/* The API server needs RBAC only for namespace defaults and self-managed TLS. */}}
{{- define "llmc.needsApi" -}}
{{- if or .Values.webhook.namespaceDefaults (eq .Values.tls.mode "self-managed") }}true{{ end }}
{{- end }}
