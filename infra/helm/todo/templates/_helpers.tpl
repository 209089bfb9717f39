{{/*
Names and labels, as `helm create` writes them, plus per-component variants: every object of a
component (api, web, postgresql, test) carries `app.kubernetes.io/component`.
*/}}

{{/*
Expand the name of the chart.
*/}}
{{- define "todo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name. Truncated at 63 characters because some Kubernetes name
fields are limited to that (by the DNS naming spec). If the release name contains the chart name it
is used as the full name.
*/}}
{{- define "todo.fullname" -}}
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

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "todo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "todo.labels" -}}
helm.sh/chart: {{ include "todo.chart" . }}
{{ include "todo.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "todo.name" . }}
{{- end }}

{{/*
Selector labels: every pod of the release (the default-deny NetworkPolicy selects these).
*/}}
{{- define "todo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
A component's name, labels and selector labels. Called with (dict "context" $ "component" "api").
*/}}
{{- define "todo.componentName" -}}
{{- printf "%s-%s" (include "todo.fullname" .context) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "todo.componentLabels" -}}
{{ include "todo.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "todo.componentSelectorLabels" -}}
{{ include "todo.selectorLabels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The ServiceAccount every pod runs as.
*/}}
{{- define "todo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "todo.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference: [registry/]repository(@digest|:tag), the tag defaulting to the chart's
appVersion. Called with (dict "image" .Values.api.image "registry" "..." "context" $).
*/}}
{{- define "todo.image" -}}
{{- $repository := .image.repository }}
{{- if .registry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .registry) .image.repository }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $repository .image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (.image.tag | default .context.Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
The restricted Pod Security Standard, pod level. The images run as a numeric user (FROM scratch,
USER 10001:10001); fsGroup makes mounted volumes writable for it.
*/}}
{{- define "todo.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The restricted Pod Security Standard, container level, for every container and init container: the
root filesystem is read-only, so whatever a container writes goes to an emptyDir or a volume.
*/}}
{{- define "todo.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
checkov skips as annotations, each `ID=reason`: the chart's values.checkovSkips (per environment)
plus the ones a template adds for its own object. Called with (dict "context" $ "extra" (dict ...)).
*/}}
{{- define "todo.checkovAnnotations" -}}
{{- $skips := merge (dict) (.extra | default dict) .context.Values.checkovSkips }}
{{- range $i, $id := keys $skips | sortAlpha }}
checkov.io/skip{{ add1 $i }}: {{ printf "%s=%s" $id (get $skips $id) | quote }}
{{- end }}
{{- end }}

{{/*
Pod annotations that roll the pods when what they read changes. The chart's own ConfigMap is hashed
as rendered. The Secret and the .env ConfigMap are not the chart's: `cargo xtask secrets` applies
them before deploy, and helm looks them up in the cluster while it renders, so the hash is computed
inside helm and no secret value, nor any hash of one, ever passes through a command line, a values
file or xtask's logs. `helm template` and client-side dry runs cannot look anything up: there the
two annotations are left out. The hash covers the whole Secret, which always holds the generated
or validated 32-byte-or-longer JWT_SECRET, so it cannot be inverted to recover a weaker value.
Called with (dict "context" $ "config" "<rendered ConfigMap>").
*/}}
{{- define "todo.rollAnnotations" -}}
{{- $ := .context }}
{{- if .config }}
checksum/config: {{ .config | sha256sum }}
{{- end }}
{{- with (lookup "v1" "Secret" $.Release.Namespace $.Values.existingSecret) }}
checksum/secret: {{ .data | toJson | sha256sum }}
{{- end }}
{{- with (lookup "v1" "ConfigMap" $.Release.Namespace $.Values.existingConfigMap) }}
checksum/env: {{ .data | toJson | sha256sum }}
{{- end }}
{{- end }}

{{/*
Native preStop sleep: the pod keeps serving while the endpoints and the ingress forget it. The
images have no shell (no `sleep` binary), and the sleep action exists only from Kubernetes 1.30, so
older clusters get no preStop hook and rely on the app draining on SIGTERM.
*/}}
{{- define "todo.preStop" -}}
{{- if and .Values.rollout.preStopSleepSeconds (semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version) }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ .Values.rollout.preStopSleepSeconds }}
{{- end }}
{{- end }}

{{/*
The NetworkPolicy peer for DNS: kube-dns in kube-system.
*/}}
{{- define "todo.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
