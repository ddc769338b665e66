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
{{- $s3 := .Values.pier.storage.s3 -}}
{{- $db := .Values.database -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (and $s3.enabled $db.enabled)) -}}
{{- fail "replicaCount > 1 needs pier.storage.s3.enabled and database.enabled: replicas share blob bytes in S3 and records in PostgreSQL (the default files and RocksDB on the volume serve one pod)" -}}
{{- end -}}
{{- if $s3.enabled -}}
{{- if not (and $s3.endpoint $s3.bucket $s3.accessKey) -}}
{{- fail "pier.storage.s3.enabled needs pier.storage.s3.endpoint, .bucket and .accessKey" -}}
{{- end -}}
{{- if and (not .Values.existingSecret) (not $s3.secretKey) -}}
{{- fail "pier.storage.s3.enabled needs pier.storage.s3.secretKey or existingSecret (with an \"s3-secret-key\" key)" -}}
{{- end -}}
{{- if and $s3.secretKey .Values.existingSecret -}}
{{- fail "pier.storage.s3.secretKey is ignored with existingSecret: put it in that Secret under \"s3-secret-key\"" -}}
{{- end -}}
{{- if and $s3.ca .Values.existingSecret -}}
{{- fail "pier.storage.s3.ca is ignored with existingSecret: name the Secret holding the CA in pier.storage.s3.caSecret" -}}
{{- end -}}
{{- if and $s3.ca $s3.caSecret.name -}}
{{- fail "give pier.storage.s3.ca or pier.storage.s3.caSecret, not both" -}}
{{- end -}}
{{- end -}}
{{- if $db.enabled -}}
{{- if not $db.host -}}
{{- fail "database.enabled needs database.host" -}}
{{- end -}}
{{- if and (not .Values.existingSecret) (not $db.password) -}}
{{- fail "database.enabled needs database.password or existingSecret (with a \"db-password\" key)" -}}
{{- end -}}
{{- if and $db.password .Values.existingSecret -}}
{{- fail "database.password is ignored with existingSecret: put it in that Secret under \"db-password\"" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Whether the pods share storage (S3 and/or PostgreSQL): each pod then
     names itself in PIER_REPLICA, Pier's label for its metrics. */}}
{{- define "pier.shared" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.pier.storage.s3.enabled .Values.database.enabled -}}true{{- end -}}
{{- end -}}

{{/* Where the pod finds the S3 endpoint's extra CAs ("" for none). */}}
{{- define "pier.s3CaFile" -}}
{{- $s3 := .Values.pier.storage.s3 -}}
{{- if $s3.caSecret.name -}}/etc/pier/s3-ca/ca.pem
{{- else if $s3.ca -}}/etc/pier/secrets/s3-ca
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
{{- $storage := dict "reserve_bytes" (int64 $s.reserveBytes) "max_bytes" (int64 $s.maxBytes) "high_watermark_percent" (int $s.highWatermarkPercent) "low_watermark_percent" (int $s.lowWatermarkPercent) "evict_replicated" $s.evictReplicated "evict_min_idle_seconds" (int64 $s.evictMinIdleSeconds) -}}
{{- if $s.s3.enabled -}}
{{- $_ := set $storage "type" "s3" -}}
{{- $_ := set $storage "s3" (dict "endpoint" $s.s3.endpoint "region" $s.s3.region "bucket" $s.s3.bucket "prefix" $s.s3.prefix "path_style" $s.s3.pathStyle "access_key" $s.s3.accessKey "secret_key_file" "/etc/pier/secrets/s3-secret-key" "ca" (include "pier.s3CaFile" .) "redirect" $s.s3.redirect) -}}
{{- end -}}
{{- $_ := set $cfg "storage" $storage -}}
{{- $db := $v.database -}}
{{- if $db.enabled -}}
{{- $dsn := printf "host=%s port=%d dbname=%s user=%s sslmode=%s" $db.host (int $db.port) $db.name $db.user $db.sslmode -}}
{{- $_ := set $cfg "metadata" (dict "type" "postgres" "postgres" (dict "dsn" $dsn "password_file" "/etc/pier/secrets/db-password")) -}}
{{- end -}}
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
