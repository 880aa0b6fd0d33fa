package main

import (
	"os"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// The demo's manifests are checked against a real kube-apiserver and etcd
// (package testenv), started once for the package.
var testClient client.Client

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(env *testenv.Env) (func(), error) {
		testClient = env.Client
		return nil, nil
	}))
}
