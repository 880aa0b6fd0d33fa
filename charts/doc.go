// Package charts holds the operator's Helm chart (flycheck-operator/) and
// no code. Its test lints the chart with Helm's lint package, renders it with
// several sets of values and checks the manifests: the manager Deployment's
// flags and restricted security contexts, RBAC rules identical to the
// generated ones in config/rbac, CRDs byte-identical to config/crd/bases (so
// a chart not re-synced by hack/sync-chart.sh fails `make test`), and the
// optional pieces (reader roles, ServiceMonitor).
package charts
