{{/* Names, labels and shared fragments of the inctrl-serve chart. */}}

{{- define "inctrl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "inctrl.fullname" -}}
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

{{- define "inctrl.postgresqlName" -}}
{{- printf "%s-postgresql" (include "inctrl.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; pod templates add their selector labels to inctrl.metaLabels. */}}
{{- define "inctrl.metaLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: inctrl-serve
{{- end }}

{{- define "inctrl.labels" -}}
{{ include "inctrl.metaLabels" . }}
app.kubernetes.io/name: {{ include "inctrl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of the server pods. */}}
{{- define "inctrl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "inctrl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/* Selector labels of the trial PostgreSQL pod. */}}
{{- define "inctrl.postgresqlSelectorLabels" -}}
app.kubernetes.io/name: {{ include "inctrl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: postgresql
{{- end }}

{{- define "inctrl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "inctrl.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "inctrl.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "inctrl.jdbcUrl" -}}
{{- if .Values.database.postgresql.jdbcUrl }}
{{- .Values.database.postgresql.jdbcUrl }}
{{- else if .Values.postgresql.deploy }}
{{- printf "jdbc:postgresql://%s:5432/%s" (include "inctrl.postgresqlName" .) .Values.postgresql.database }}
{{- else }}
{{- fail "database.type=postgresql needs database.postgresql.jdbcUrl, or postgresql.deploy=true for the trial database" }}
{{- end }}
{{- end }}

{{- define "inctrl.dbPasswordSecret" -}}
{{- default .Values.secrets.existingSecret .Values.database.postgresql.passwordSecret.name }}
{{- end }}

{{/* The restricted container securityContext, shared by the server and the trial PostgreSQL. */}}
{{- define "inctrl.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/* The model repository's image (type image): repository:tag, @digest when given. */}}
{{- define "inctrl.modelsImage" -}}
{{- $i := .Values.model.repository.image }}
{{- $tag := $i.tag | toString }}{{/* --set tag=2026 arrives as a number */}}
{{- if and $tag $i.digest }}
{{- printf "%s:%s@%s" $i.repository $tag $i.digest }}
{{- else if $i.digest }}
{{- printf "%s@%s" $i.repository $i.digest }}
{{- else }}
{{- printf "%s:%s" $i.repository (required "model.repository.image.tag (or .digest) is required" $tag) }}
{{- end }}
{{- end }}

{{/* TCP port of the object storage (NetworkPolicy egress): the endpoint's, else 443 (https) or 80 (http). */}}
{{- define "inctrl.s3Port" -}}
{{- $s3 := .Values.model.repository.s3 }}
{{- if not $s3.endpoint }}443
{{- else }}
{{- $u := urlParse $s3.endpoint }}
{{- $hostPort := splitList ":" $u.host }}
{{- if gt (len $hostPort) 1 }}{{ last $hostPort }}
{{- else if eq $u.scheme "http" }}80
{{- else }}443
{{- end }}
{{- end }}
{{- end }}

