package controllers

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// The suite runs every controller test against a real kube-apiserver and
// etcd (built from source by `make controlplane`; see package testenv);
// there is no fake client.
var (
	testEnv    *envtest.Environment
	cfg        *rest.Config
	k8sClient  client.Client
	clientset  *kubernetes.Clientset
	testScheme *runtime.Scheme
	// recorder writes real events through the events.k8s.io API.
	recorder events.EventRecorder
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(env *testenv.Env) (func(), error) {
		testEnv, cfg, k8sClient, testScheme = env.Environment, env.Config, env.Client, env.Scheme
		var err error
		if clientset, err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, err
		}
		broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: clientset.EventsV1()})
		stop := make(chan struct{})
		broadcaster.StartRecordingToSink(stop)
		recorder = broadcaster.NewRecorder(testScheme, "flycheck-test")
		return func() { close(stop) }, nil
	}))
}

// createNamespace makes a namespace for one test and deletes it when the
// test ends (see testenv.CreateNamespace).
func createNamespace(t *testing.T, name string) {
	t.Helper()
	testenv.CreateNamespace(t, k8sClient, name)
}
