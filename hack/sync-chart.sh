#!/usr/bin/env bash
# Copies the generated manifests into the Helm chart, so that the chart never
# carries a hand-typed copy of a CRD or an RBAC rule:
#
#   config/crd/bases/*.yaml  -> charts/flycheck-operator/crds/
#   config/rbac/<roles>.yaml -> charts/flycheck-operator/files/rbac/
#   config/argocd/argocd-cm.yaml -> charts/flycheck-operator/files/argocd/
#   config/grafana/*.json -> charts/flycheck-operator/files/grafana/
#
# The chart's templates read the rules out of files/rbac/ with .Files.Get
# (templates/_rbac.tpl) and write their own metadata (names, namespace,
# labels). `make manifests` runs this after controller-gen; charts/
# chart_test.go fails when the copies differ from config/.
set -euo pipefail
cd "$(dirname "$0")/.."

chart=charts/flycheck-operator

# Every file config/ has, and no other: a CRD removed from the API must
# disappear from the chart as well.
rm -rf "$chart/crds" "$chart/files/rbac" "$chart/files/argocd" "$chart/files/grafana"
mkdir -p "$chart/crds" "$chart/files/rbac" "$chart/files/argocd" "$chart/files/grafana"

cp config/crd/bases/*.yaml "$chart/crds/"

# role.yaml is controller-gen's output (the ClusterRole and the namespaced
# sampling-key Role); the others are the hand-written roles in config/rbac.
for f in role.yaml leader_election_role.yaml \
         campaign_viewer_role.yaml city_viewer_role.yaml city_editor_role.yaml province_admin_role.yaml \
         tipoff_identity_role.yaml metrics_reader_role.yaml; do
  cp "config/rbac/$f" "$chart/files/rbac/$f"
done

# The Argo CD health checks (hack/argocdhealth's output).
cp config/argocd/argocd-cm.yaml "$chart/files/argocd/argocd-cm.yaml"

# The Grafana dashboard.
cp config/grafana/*.json "$chart/files/grafana/"
