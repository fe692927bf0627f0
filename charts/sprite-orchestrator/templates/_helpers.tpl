{{/* The chart's name, or nameOverride. */}}
{{- define "sprite-orchestrator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: one release, one operator. */}}
{{- define "sprite-orchestrator.fullname" -}}
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

{{- define "sprite-orchestrator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sprite-orchestrator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sprite-orchestrator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sprite-orchestrator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "sprite-orchestrator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sprite-orchestrator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sprite-orchestrator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
What the operator does with the API, and nothing more (tests/chart/test_rbac.py derives the
same list from a real run). Shared by the ClusterRole (all namespaces) and each Role.
*/}}
{{- define "sprite-orchestrator.operatorRules" -}}
# Handlers read pools and tasks; kopf lists and watches them and patches its finalizer and
# progress annotations onto them.
- apiGroups: [orchestrator.dev]
  resources: [workerpools, agenttasks]
  verbs: [get, list, watch, patch]
# The operator creates, reaps and deletes the Workers of each pool.
- apiGroups: [orchestrator.dev]
  resources: [workers]
  verbs: [get, list, watch, create, patch, delete]
# Status is written only through the status subresource (merge patches, compare-and-swap).
- apiGroups: [orchestrator.dev]
  resources: [workerpools/status, workers/status, agenttasks/status]
  verbs: [patch]
# A Worker is created with its pool as owner (blockOwnerDeletion): clusters with the
# OwnerReferencesPermissionEnforcement admission plugin ask for this.
- apiGroups: [orchestrator.dev]
  resources: [workerpools/finalizers]
  verbs: [update]
# The agent's auth and deploy keys (secrets) and promptFrom (secrets, configmaps), by name.
- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: [get]
# Events on our objects (kopf posts them).
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* The kopf peering object the replicas share. */}}
{{- define "sprite-orchestrator.peeringName" -}}
{{- .Values.peering.name | default (include "sprite-orchestrator.fullname" .) -}}
{{- end }}

{{/* Peering: the operator creates its peering object, kopf watches it and patches its own
entry into the status. The argument is the resource: clusterkopfpeerings or kopfpeerings. */}}
{{- define "sprite-orchestrator.peeringRules" -}}
- apiGroups: [kopf.dev]
  resources: [{{ . }}]
  verbs: [list, watch, create, patch]
{{- end }}

{{/* kopf's own view of the cluster: it watches CRDs to notice ours come and go. */}}
{{- define "sprite-orchestrator.frameworkRules" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- end }}
