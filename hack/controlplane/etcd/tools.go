//go:build tools

// Package etcd pins the etcd server built by `make controlplane`.
package etcd

import _ "go.etcd.io/etcd/server/v3"
