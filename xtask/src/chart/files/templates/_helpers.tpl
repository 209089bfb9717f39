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
The `secrets` volume: the keys of existingSecret a pod reads, one read-only file each. Mode 0440:
the kubelet makes the files root-owned with fsGroup (the pods' group) as their group, so the
non-root user reads them through the group. A required key (or the Secret) missing keeps the pod
in ContainerCreating with a FailedMount event naming it; an optional key missing is no file, which
the app takes as unset. Called with (dict "context" $ "required" (list ...) "optional" (list ...)).
*/}}
{{- define "todo.secretVolume" -}}
{{- $ := .context -}}
- name: secrets
  projected:
    # 0440 (octal): readable by the owner (root) and the group (fsGroup), by nobody else.
    defaultMode: 288
    sources:
      {{- with .required }}
      - secret:
          name: {{ $.Values.existingSecret }}
          items:
            {{- range . }}
            - key: {{ . }}
              path: {{ . }}
            {{- end }}
      {{- end }}
      {{- with .optional }}
      - secret:
          name: {{ $.Values.existingSecret }}
          optional: true
          items:
            {{- range . }}
            - key: {{ . }}
              path: {{ . }}
            {{- end }}
      {{- end }}
{{- end }}

{{/*
Pod annotations that roll a workload's pods when what they read changes, and only then. The chart's
own ConfigMap is hashed as rendered. The Secret and the .env ConfigMap are not the chart's: `cargo
xtask secrets` applies them before deploy, and helm looks them up in the cluster while it renders,
so the hash is computed inside helm and no secret value, nor any hash of one, ever passes through a
command line, a values file or xtask's logs. `helm template` and client-side dry runs cannot look
anything up: there these two annotations are left out.

Each hash covers only the keys the workload reads (`secretKeys`: its secretEnv; `envKeys`: its
configEnv), so rotating LLM_API_KEY rolls the api and nothing else, and a workload that reads no
key of an object gets no annotation for it. The api's secret hash always includes its required
JWT_SECRET (generated or validated at 32 bytes or more), so it cannot be inverted to recover a
weaker value. Called with (dict "context" $ "config" "<rendered ConfigMap>" "secretKeys" (list ...)
"envKeys" (list ...)).
*/}}
{{- define "todo.rollAnnotations" -}}
{{- $ := .context }}
{{- if .config }}
checksum/config: {{ .config | sha256sum }}
{{- end }}
{{- if .secretKeys }}
{{- $secret := lookup "v1" "Secret" $.Release.Namespace $.Values.existingSecret }}
{{- with include "todo.pickedData" (dict "object" $secret "keys" .secretKeys) }}
checksum/secret: {{ . | sha256sum }}
{{- end }}
{{- end }}
{{- if .envKeys }}
{{- $env := lookup "v1" "ConfigMap" $.Release.Namespace $.Values.existingConfigMap }}
{{- with include "todo.pickedData" (dict "object" $env "keys" .envKeys) }}
checksum/env: {{ . | sha256sum }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The entries of a looked-up object's `data` whose keys are in `keys`, as JSON with sorted keys; empty
when the object is missing (an empty lookup) or holds none of them. Called with
(dict "object" <lookup result> "keys" (list ...)).
*/}}
{{- define "todo.pickedData" -}}
{{- $data := get (.object | default dict) "data" | default dict }}
{{- $picked := dict }}
{{- range .keys }}
{{- if hasKey $data . }}
{{- $_ := set $picked . (index $data .) }}
{{- end }}
{{- end }}
{{- if $picked }}
{{- toJson $picked }}
{{- end }}
{{- end }}

{{/*
Where web forwards /api: the api Service in the release's namespace (its short name resolves through
the pod's DNS search path), unless web.env sets API_UPSTREAM itself.
*/}}
{{- define "todo.apiUpstream" -}}
{{- $api := include "todo.componentName" (dict "context" . "component" "api") }}
{{- get .Values.web.env "API_UPSTREAM" | default (printf "http://%s:%v" $api .Values.api.service.port) }}
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
Egress to the cluster DNS (networkPolicy.dns): the DNS pods chosen by a namespace and a pod selector
(kube-dns in kube-system by default; a selector left without labels matches every namespace or
pod), plus any
ipBlocks, e.g. NodeLocal DNSCache's 169.254.20.10/32, which answers on the node's own address
rather than from a pod.
*/}}
{{- define "todo.dnsEgress" -}}
{{- $dns := .Values.networkPolicy.dns -}}
- to:
    - namespaceSelector:
        matchLabels:
          {{- toYaml ($dns.namespaceSelector | default dict) | nindent 10 }}
      podSelector:
        matchLabels:
          {{- toYaml ($dns.podSelector | default dict) | nindent 10 }}
    {{- range $dns.ipBlocks }}
    - ipBlock:
        cidr: {{ . | quote }}
    {{- end }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
