package main

import (
	"os"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// The commands of package main that talk to a cluster (screen
// --report, sample verify --from-cluster) are tested against one
// real kube-apiserver and etcd (package testenv), started here for the
// whole package. Tests that need it use these variables; the others do not
// pay for more than its start-up.
var (
	// testCfg is a system:masters identity.
	testCfg *rest.Config
	// testKubeconfig is a system:masters kubeconfig file, for commands
	// that read KUBECONFIG.
	testKubeconfig string
	// testClient is a system:masters client with the operator's scheme.
	testClient client.Client
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(env *testenv.Env) (func(), error) {
		testCfg, testClient = env.Config, env.Client
		var err error
		testKubeconfig, err = env.AdminKubeconfig()
		return nil, err
	}))
}
