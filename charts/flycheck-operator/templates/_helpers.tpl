{{/*
Prefix of the names of the chart's objects: fullnameOverride, else the
release name. `helm install flycheck` gives the names config/ uses
(flycheck-controller-manager, flycheck-manager-role, ...).
*/}}
{{- define "flycheck-operator.prefix" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end }}

{{- define "flycheck-operator.managerName" -}}
{{- include "flycheck-operator.prefix" . }}-controller-manager
{{- end }}

{{- define "flycheck-operator.managerRoleName" -}}
{{- include "flycheck-operator.prefix" . }}-manager-role
{{- end }}

{{- define "flycheck-operator.leaderElectionRoleName" -}}
{{- include "flycheck-operator.prefix" . }}-leader-election-role
{{- end }}

{{- define "flycheck-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flycheck-operator.managerName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{/* Namespace of the sampling-key Secret (--operator-namespace). */}}
{{- define "flycheck-operator.operatorNamespace" -}}
{{- default .Release.Namespace .Values.operatorNamespace -}}
{{- end }}

{{- define "flycheck-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}
{{- end }}

{{- define "flycheck-operator.screenerImage" -}}
{{- default (include "flycheck-operator.image" .) .Values.screenerImage -}}
{{- end }}

{{- define "flycheck-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | toString | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The manager pods; also the metrics Service's and ServiceMonitor's selector. */}}
{{- define "flycheck-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{/*
flycheck-operator.rbacObject returns, as YAML, the one object of the given
kind in files/rbac/<file> (a copy of config/rbac/<file>, made by
hack/sync-chart.sh). The templates take the rules (and the reader roles their
names) from it, so the chart never retypes a rule.
Usage: include "flycheck-operator.rbacObject" (list . "role.yaml" "ClusterRole")
*/}}
{{- define "flycheck-operator.rbacObject" -}}
{{- $root := index . 0 -}}
{{- $file := index . 1 -}}
{{- $kind := index . 2 -}}
{{- $content := $root.Files.Get (printf "files/rbac/%s" $file) -}}
{{- if not $content -}}
{{- fail (printf "files/rbac/%s is missing: run hack/sync-chart.sh" $file) -}}
{{- end -}}
{{- $found := list -}}
{{- range $doc := regexSplit `(?m)^---[ \t]*$` $content -1 -}}
{{- $obj := fromYaml $doc -}}
{{- if hasKey $obj "Error" -}}
{{- fail (printf "files/rbac/%s: %s" $file $obj.Error) -}}
{{- end -}}
{{- if eq (toString (get $obj "kind")) $kind -}}
{{- $found = append $found $obj -}}
{{- end -}}
{{- end -}}
{{- if ne (len $found) 1 -}}
{{- fail (printf "files/rbac/%s: want exactly one %s, found %d" $file $kind (len $found)) -}}
{{- end -}}
{{- if not (index $found 0).rules -}}
{{- fail (printf "files/rbac/%s: the %s has no rules" $file $kind) -}}
{{- end -}}
{{- toYaml (index $found 0) -}}
{{- end }}
