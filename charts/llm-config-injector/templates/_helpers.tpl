{{/* Names and labels shared by every template. Every templated string is quoted:
     values are user text, and YAML reads `a: b`, `#x`, `*x` or `{}` as something else. */}}
{{- define "llmc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The conventional fullname: no repetition when the release name already contains the name. */}}
{{- define "llmc.fullname" -}}
{{- $fullname := include "llmc.fullnameUnchecked" . }}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $fullname) }}
{{- fail (printf "the object name %q (from release name %q) is not a DNS-1035 label, which Service names must be (a lowercase letter first, then a-z, 0-9 and -): set fullnameOverride, or use another release name" $fullname .Release.Name) }}
{{- end }}
{{- $fullname }}
{{- end }}

{{/* `base` with `suffix`, the base cut first so the suffix survives the 63-character limit
     (cutting after would give `-relay` objects the webhook's own names). */}}
{{- define "llmc.suffixed" -}}
{{- $base := index . 0 }}{{- $suffix := index . 1 }}
{{- printf "%s%s" ($base | trunc (sub 63 (len $suffix) | int) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "llmc.fullnameUnchecked" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "llmc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llmc.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{- define "llmc.labels" -}}
{{ include "llmc.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
{{- range $key, $value := .Values.commonLabels }}
{{ $key | quote }}: {{ $value | quote }}
{{- end }}
{{- end }}

{{- define "llmc.tlsSecret" -}}
{{- if eq .Values.tls.mode "existing-secret" }}{{ .Values.tls.existingSecret }}{{ else }}{{ include "llmc.fullname" . }}-tls{{ end }}
{{- end }}

{{/* The port the webhook listens on: its own on the node's network. */}}
{{- define "llmc.port" -}}
{{- if .Values.hostNetwork.enabled }}{{ .Values.hostNetwork.port }}{{ else }}{{ .Values.webhook.port }}{{ end }}
{{- end }}

{{/* The API server needs RBAC only for namespace defaults and self-managed TLS. */}}
{{- define "llmc.needsApi" -}}
{{- if or .Values.webhook.namespaceDefaults (eq .Values.tls.mode "self-managed") }}true{{ end }}
{{- end }}

{{/* Object names of self-managed TLS: the shared Secret and its Lease (webhook/kube-api.ts derives them from --service-name). */}}
{{- define "llmc.selfManagedSecret" -}}{{ include "llmc.fullname" . }}-self-managed-tls{{- end }}

{{/* Milliseconds of a duration the schema accepted (0, or parts like 1h30m, 250ms), as the
     program's parser counts them (src/durations.ts: parts summed, rounded to 1 ms). The
     schema can check the notation but not a sum, so bounds are checked here. */}}
{{- define "llmc.durationMs" -}}
{{- $ms := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h)" (toString .) -1 }}
{{- $unit := regexFind "(ms|s|m|h)$" . }}
{{- $scale := get (dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0) $unit }}
{{- $ms = addf $ms (mulf (float64 (trimSuffix $unit .)) $scale) }}
{{- end }}
{{- round $ms 0 }}
{{- end }}

{{/* Refuses --central-header names the agent and relay set themselves, which their option
     parser (src/options/parsers.ts `header`) refuses at start: rendered, the pods would
     crash-loop. The schema ($defs.centralHeader) checks the characters; this list is the
     one rule it cannot state with a message naming the value: (list "values.key" headers). */}}
{{- define "llmc.checkCentralHeaders" -}}
{{- $where := index . 0 }}
{{- $reserved := list "host" "authorization" "content-length" "connection" "transfer-encoding" "expect" "keep-alive" "upgrade" "trailer" "te" "proxy-connection" }}
{{- range $i, $header := index . 1 }}
{{- $name := splitList ":" (toString $header) | first | trim }}
{{- if has (lower $name) $reserved }}
{{- fail (printf "%s[%d]=%q: the %s header is set by the agent and relay themselves or controls the connection: it cannot be given (refused names: %s)" $where $i $header $name (join ", " $reserved)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Refuses a relay duration value outside what its flag accepts: (list "name" value minMs). */}}
{{- define "llmc.relay.checkDuration" -}}
{{- $name := index . 0 }}{{- $value := index . 1 }}{{- $min := index . 2 }}
{{- if $value }}
{{- $ms := include "llmc.durationMs" $value | float64 }}
{{- if lt $ms (float64 $min) }}
{{- fail (printf "relay.%s=%v is below %vms, the least the relay's --%s accepts" $name $value $min (kebabcase $name)) }}
{{- end }}
{{- if gt $ms 2147483647.0 }}
{{- fail (printf "relay.%s=%v is over 2147483647ms (about 24 days), the longest timer Node can set" $name $value) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The webhook's and the relay's command: the image's CLI without the image's tier-up
     flags (--no-maglev, late TurboFan: memory first, for the sidecars the webhook injects).
     These run once or twice per cluster, where admission latency counts more than a few
     MiB; the image warms its compile cache for these flags too (Dockerfile). */}}
{{- define "llmc.serviceCommand" -}}
- node
- --max-semi-space-size=1
- /app/bin/llm-config.js
{{- end }}
