{{/* Names and labels. */}}
{{- define "pier.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pier.fullname" -}}
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

{{- define "pier.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pier.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pier.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pier.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "pier.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret the pod mounts at /etc/pier/secrets. */}}
{{- define "pier.secretName" -}}
{{- default (include "pier.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* Whether a registry's access secret is a file from the Secret: given
     in values, or expected in the existing Secret when it has an access key. */}}
{{- define "pier.registryHasSecret" -}}
{{- $cred := .registry.credential | default dict -}}
{{- if or $cred.access_secret (and .root.Values.existingSecret $cred.access_key) -}}true{{- end -}}
{{- end -}}

{{/* Fail early on values that would make Pier refuse to start. */}}
{{- define "pier.validate" -}}
{{- if and .Values.auth.enabled (not .Values.existingSecret) (not .Values.auth.users) (not .Values.auth.htpasswd) -}}
{{- fail "auth.enabled needs auth.users, auth.htpasswd or existingSecret (with an \"htpasswd\" key)" -}}
{{- end -}}
{{- if and .Values.webhooks.harbor.enabled (not .Values.existingSecret) (not .Values.webhooks.harbor.authorization) -}}
{{- fail "webhooks.harbor.enabled needs webhooks.harbor.authorization or existingSecret (with a \"webhook-harbor-authorization\" key)" -}}
{{- end -}}
{{- if and .Values.webhooks.harbor.authorization .Values.existingSecret -}}
{{- fail "webhooks.harbor.authorization is ignored with existingSecret: put it in that Secret under \"webhook-harbor-authorization\"" -}}
{{- end -}}
{{- if and .Values.auth.admins (not .Values.auth.enabled) -}}
{{- fail "auth.admins has no effect without auth.enabled: true" -}}
{{- end -}}
{{- end -}}

{{/* config.json exactly as Pier reads it (cmd/pier/config.h). Paths point
     at the pod's mounts: /data (the PVC) and /etc/pier/secrets (the Secret). */}}
{{- define "pier.config" -}}
{{- $v := .Values -}}
{{- $cfg := dict "listen" "0.0.0.0:5000" "data" "/data" "public_url" $v.pier.publicUrl -}}
{{- $_ := set $cfg "uploads" (dict "max_age_hours" (int $v.pier.uploadMaxAgeHours)) -}}
{{- $_ := set $cfg "http" (dict "blocking_threads" (int $v.pier.http.blockingThreads) "idle_timeout_seconds" (int $v.pier.http.idleTimeoutSeconds) "io_timeout_seconds" (int $v.pier.http.ioTimeoutSeconds)) -}}
{{- $_ := set $cfg "log" (dict "level" $v.pier.logLevel "access" $v.pier.accessLog) -}}
{{- $_ := set $cfg "gc" (dict "grace_seconds" (int $v.pier.gc.graceSeconds) "schedule" $v.pier.gc.schedule "delete_untagged" $v.pier.gc.deleteUntagged "workers" (int $v.pier.gc.workers)) -}}
{{- $s := $v.pier.storage -}}
{{- $_ := set $cfg "storage" (dict "reserve_bytes" (int64 $s.reserveBytes) "max_bytes" (int64 $s.maxBytes) "high_watermark_percent" (int $s.highWatermarkPercent) "low_watermark_percent" (int $s.lowWatermarkPercent) "evict_replicated" $s.evictReplicated "evict_min_idle_seconds" (int64 $s.evictMinIdleSeconds)) -}}
{{- $auth := dict "realm" $v.auth.realm "anonymous_pull" $v.auth.anonymousPull -}}
{{- if $v.auth.enabled -}}
{{- $_ := set $auth "htpasswd" "/etc/pier/secrets/htpasswd" -}}
{{- $_ := set $auth "admins" ($v.auth.admins | default list) -}}
{{- $_ := set $auth "acl" ($v.auth.acl | default list) -}}
{{- end -}}
{{- $_ := set $cfg "auth" $auth -}}
{{- $regs := list -}}
{{- range $v.replication.registries -}}
{{- $r := deepCopy . -}}
{{- if include "pier.registryHasSecret" (dict "registry" . "root" $) -}}
{{- $cred := deepCopy .credential -}}
{{- $_ := unset $cred "access_secret" -}}
{{- $_ := set $cred "access_secret_file" (printf "/etc/pier/secrets/registry-%s" .name) -}}
{{- $_ := set $r "credential" $cred -}}
{{- end -}}
{{- $regs = append $regs $r -}}
{{- end -}}
{{- $_ := set $cfg "replication" (dict "registries" $regs "policies" ($v.replication.policies | default list)) -}}
{{- if $v.proxy.upstreams -}}
{{- $ups := list -}}
{{- range $v.proxy.upstreams -}}
{{- $u := deepCopy . -}}
{{- $_ := unset $u "password" -}}
{{- if or .password (and $.Values.existingSecret .username) -}}
{{- $_ := set $u "password_file" (printf "/etc/pier/secrets/upstream-%s" .name) -}}
{{- end -}}
{{- if .ca -}}
{{- $_ := set $u "ca" (printf "/etc/pier/secrets/upstream-%s-ca" .name) -}}
{{- end -}}
{{- $ups = append $ups $u -}}
{{- end -}}
{{- $_ := set $cfg "proxy" (dict "upstreams" $ups) -}}
{{- end -}}
{{- if $v.webhooks.harbor.enabled -}}
{{- $_ := set $cfg "webhooks" (dict "harbor" (dict "authorization_file" "/etc/pier/secrets/webhook-harbor-authorization")) -}}
{{- end -}}
{{- toPrettyJson $cfg -}}
{{- end -}}
