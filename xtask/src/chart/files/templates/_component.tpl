{{/*
The objects of one app component (api, web): its ConfigMap, Deployment, Service, and optional
HorizontalPodAutoscaler and PodDisruptionBudget. `cargo xtask helm-gen` writes one small file per
component and object under templates/<component>/ that includes these, so a component added in
deploy/todo.toml gets all of them. Each is called with (dict "context" $ "component" "api").
*/}}

{{- define "todo.component.configmap" -}}
{{- $ := .context }}
{{- $values := index $.Values .component }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "todo.componentName" . }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "todo.componentLabels" . | nindent 4 }}
data:
  PORT: {{ $values.containerPort | quote }}
  {{- if and (eq .component "api") (eq $.Values.database.mode "sqlite") }}
  TODO_DATA_DIR: {{ $.Values.sqlite.dataDir | quote }}
  {{- end }}
  {{- if and (eq .component "web") (not (hasKey $values.env "API_UPSTREAM")) }}
  {{- /* web forwards /api to the api Service, so a port-forward to web (ingress or not) is the
  whole app; behind the ingress /api goes to the api directly and never reaches web. The short
  name resolves through the pod's DNS search path, in the release's namespace. */}}
  API_UPSTREAM: {{ include "todo.apiUpstream" $ | quote }}
  {{- end }}
  {{- range $key, $value := $values.env }}
  {{ $key }}: {{ $value | toString | quote }}
  {{- end }}
{{- end }}

{{- define "todo.component.deployment" -}}
{{- $ := .context }}
{{- $component := .component }}
{{- $values := index $.Values $component }}
{{- $sqlite := and (eq $component "api") (eq $.Values.database.mode "sqlite") }}
{{- if and $sqlite (or (gt (int $values.replicaCount) 1) $values.autoscaling.enabled) }}
{{- fail "database.mode=sqlite allows one writer: set api.replicaCount=1 and api.autoscaling.enabled=false" }}
{{- end }}
{{- /* The Secret keys the container reads (DATABASE_URL is not one in the sqlite mode), split
into those the Secret must hold and the optional ones. */}}
{{- $secretKeys := list }}
{{- $requiredKeys := list }}
{{- $optionalKeys := list }}
{{- range $values.secretEnv }}
{{- if not (and (eq .name "DATABASE_URL") $sqlite) }}
{{- $secretKeys = append $secretKeys .name }}
{{- if .optional }}
{{- $optionalKeys = append $optionalKeys .name }}
{{- else }}
{{- $requiredKeys = append $requiredKeys .name }}
{{- end }}
{{- end }}
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "todo.componentName" . }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "todo.componentLabels" . | nindent 4 }}
  {{- with include "todo.checkovAnnotations" (dict "context" $) | trim }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  {{- if not $values.autoscaling.enabled }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  progressDeadlineSeconds: {{ $.Values.rollout.progressDeadlineSeconds }}
  strategy:
    {{- if $sqlite }}
    # One SQLite writer: the old pod stops before the new one opens the file.
    type: Recreate
    {{- else }}
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
    {{- end }}
  selector:
    matchLabels:
      {{- include "todo.componentSelectorLabels" . | nindent 6 }}
  template:
    metadata:
      annotations:
        {{- include "todo.rollAnnotations" (dict "context" $ "config" (include "todo.component.configmap" .) "secretKeys" $secretKeys "envKeys" $values.configEnv) | trim | nindent 8 }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "todo.componentLabels" . | nindent 8 }}
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "todo.serviceAccountName" $ }}
      automountServiceAccountToken: false
      # The app finds its peers by the names in its settings, not by injected *_SERVICE_HOST
      # variables.
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $.Values.rollout.terminationGracePeriodSeconds }}
      {{- with $.Values.image.pullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "todo.podSecurityContext" $ | nindent 8 }}
      containers:
        - name: {{ $component }}
          image: {{ include "todo.image" (dict "image" $values.image "registry" $.Values.image.registry "context" $) | quote }}
          imagePullPolicy: {{ $.Values.image.pullPolicy }}
          securityContext:
            {{- include "todo.containerSecurityContext" $ | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ $values.containerPort }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "todo.componentName" . }}
          {{- if or $secretKeys $values.configEnv }}
          env:
            {{- /* Secrets as files (the `secrets` volume), never as values in the environment. */}}
            {{- range $secretKeys }}
            - name: {{ . }}_FILE
              value: {{ printf "%s/%s" (trimSuffix "/" $.Values.secretMountPath) . | quote }}
            {{- end }}
            {{- /* A key missing from this optional ConfigMap leaves the envFrom value in place. */}}
            {{- range $values.configEnv }}
            - name: {{ . }}
              valueFrom:
                configMapKeyRef:
                  name: {{ $.Values.existingConfigMap }}
                  key: {{ . }}
                  optional: true
            {{- end }}
          {{- end }}
          startupProbe:
            httpGet:
              path: {{ $values.probes.startup.path }}
              port: http
            periodSeconds: {{ $values.probes.startup.periodSeconds }}
            timeoutSeconds: {{ $values.probes.startup.timeoutSeconds }}
            failureThreshold: {{ $values.probes.startup.failureThreshold }}
          livenessProbe:
            httpGet:
              path: {{ $values.probes.liveness.path }}
              port: http
            periodSeconds: {{ $values.probes.liveness.periodSeconds }}
            timeoutSeconds: {{ $values.probes.liveness.timeoutSeconds }}
            failureThreshold: {{ $values.probes.liveness.failureThreshold }}
          readinessProbe:
            httpGet:
              path: {{ $values.probes.readiness.path }}
              port: http
            periodSeconds: {{ $values.probes.readiness.periodSeconds }}
            timeoutSeconds: {{ $values.probes.readiness.timeoutSeconds }}
            failureThreshold: {{ $values.probes.readiness.failureThreshold }}
          {{- with include "todo.preStop" $ | trim }}
          {{- . | nindent 10 }}
          {{- end }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if $secretKeys }}
            - name: secrets
              mountPath: {{ $.Values.secretMountPath }}
              readOnly: true
            {{- end }}
            {{- if $sqlite }}
            - name: data
              mountPath: {{ $.Values.sqlite.dataDir }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $values.tmpSizeLimit }}
        {{- if $secretKeys }}
        {{- include "todo.secretVolume" (dict "context" $ "required" $requiredKeys "optional" $optionalKeys) | nindent 8 }}
        {{- end }}
        {{- if $sqlite }}
        - name: data
          persistentVolumeClaim:
            claimName: {{ include "todo.componentName" (dict "context" $ "component" "sqlite") }}
        {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{- define "todo.component.service" -}}
{{- $ := .context }}
{{- $values := index $.Values .component }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "todo.componentName" . }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "todo.componentLabels" . | nindent 4 }}
spec:
  type: {{ $values.service.type }}
  selector:
    {{- include "todo.componentSelectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ $values.service.port }}
      targetPort: http
      protocol: TCP
{{- end }}

{{- define "todo.component.hpa" -}}
{{- $ := .context }}
{{- $values := index $.Values .component }}
{{- if $values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "todo.componentName" . }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "todo.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "todo.componentName" . }}
  minReplicas: {{ $values.autoscaling.minReplicas }}
  maxReplicas: {{ $values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end }}

{{- define "todo.component.pdb" -}}
{{- $ := .context }}
{{- $values := index $.Values .component }}
{{- $minAvailable := int $values.podDisruptionBudget.minAvailable }}
{{- if gt $minAvailable 0 }}
{{- $least := ternary (int $values.autoscaling.minReplicas) (int $values.replicaCount) $values.autoscaling.enabled }}
{{- if ge $minAvailable $least }}
{{- fail (printf "%s.podDisruptionBudget.minAvailable=%d with %d replicas would block every node drain: lower it, or set it to 0 for no PodDisruptionBudget" .component $minAvailable $least) }}
{{- end }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "todo.componentName" . }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "todo.componentLabels" . | nindent 4 }}
spec:
  minAvailable: {{ $minAvailable }}
  selector:
    matchLabels:
      {{- include "todo.componentSelectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}
