//go:build tools

// Package controlplane pins the control-plane binaries built by
// `make controlplane`; it is never compiled into the operator.
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
