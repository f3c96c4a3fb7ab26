{{/* Names and labels, as `helm create` makes them. */}}
{{- define "factorwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "factorwatch.fullname" -}}
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

{{- define "factorwatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "factorwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "factorwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "factorwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "factorwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "factorwatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "factorwatch.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "factorwatch.postgresqlHost" -}}
{{ include "factorwatch.fullname" . }}-postgresql
{{- end }}

{{/* SQLite unless a PostgreSQL is given; several replicas need PostgreSQL. */}}
{{- define "factorwatch.usesSqlite" -}}
{{- if not (or .Values.postgresql.enabled .Values.database.existingSecret) }}true{{ end }}
{{- end }}

{{- define "factorwatch.validate" -}}
{{- if and .Values.postgresql.enabled .Values.database.existingSecret }}
{{- fail "database.existingSecret and postgresql.enabled both name a database: choose one" }}
{{- end }}
{{- if and .Values.postgresql.enabled (not .Values.postgresql.existingSecret) }}
{{- fail "postgresql.enabled needs postgresql.existingSecret: a Secret holding the password" }}
{{- end }}
{{- if and (include "factorwatch.usesSqlite" .) (gt (int .Values.replicaCount) 1) }}
{{- fail "replicaCount > 1 needs PostgreSQL (database.existingSecret or postgresql.enabled): replicas cannot share a SQLite file" }}
{{- end }}
{{- end }}

{{/* The environment shared by the daemon and the migration init container. */}}
{{- define "factorwatch.env" -}}
- name: FACTORWATCH_CONFIG
  value: /etc/factorwatch/config.yaml
- name: FACTORWATCH_LISTEN
  value: "0.0.0.0:9464"
- name: FACTORWATCH_REGION
  value: {{ .Values.region | quote }}
- name: FACTORWATCH_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: FACTORWATCH_CLUSTER__LEASE_TTL
  value: {{ .Values.cluster.leaseTTL | quote }}
{{- if .Values.postgresql.enabled }}
- name: FACTORWATCH_POSTGRESQL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.existingSecret }}
      key: {{ .Values.postgresql.passwordKey }}
- name: FACTORWATCH_DATABASE
  value: "postgresql+psycopg://{{ .Values.postgresql.username }}:$(FACTORWATCH_POSTGRESQL_PASSWORD)@{{ include "factorwatch.postgresqlHost" . }}:5432/{{ .Values.postgresql.database }}"
{{- else if .Values.database.existingSecret }}
- name: FACTORWATCH_DATABASE
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.existingSecretKey }}
{{- else }}
- name: FACTORWATCH_DATABASE
  value: sqlite:////data/factorwatch.db
{{- end }}
{{- if .Values.apiToken.existingSecret }}
- name: FACTORWATCH_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.apiToken.existingSecret }}
      key: {{ .Values.apiToken.key }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.secretName }}
      key: {{ $ref.key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "factorwatch.volumeMounts" -}}
- name: config
  mountPath: /etc/factorwatch/config.yaml
  subPath: config.yaml
  readOnly: true
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- range .Values.secretFiles }}
- name: secret-{{ .name }}
  mountPath: /etc/factorwatch/secrets/{{ .name }}
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}
