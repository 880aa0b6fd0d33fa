package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// The commands of package main that talk to a cluster (screen
// --result-configmap, sample --from-cluster, the demo's node player) are
// tested against one real kube-apiserver and etcd, started here for the
// whole package (bin/k8s, built by `make controlplane`). Tests that need it
// use these variables; the others do not pay for more than its start-up.
var (
	testEnv *envtest.Environment
	// testCfg is a system:masters identity.
	testCfg *rest.Config
	// testKubeconfig is a kubeconfig file for testCfg, for commands that
	// read KUBECONFIG.
	testKubeconfig string
	// testClient is a client with the operator's scheme.
	testClient client.Client
)

// runAsFlycheck turns the test binary into flycheck itself, for tests
// that start it as a child process (the demo's node player runs
// os.Executable(), which under `go test` is this binary).
const runAsFlycheck = "FLYCHECK_TEST_RUN_AS_FLYCHECK=1"

func TestMain(m *testing.M) {
	if name, value, _ := strings.Cut(runAsFlycheck, "="); os.Getenv(name) == value {
		main()
		os.Exit(0)
	}
	os.Exit(runEnvtestMain(m))
}

func runEnvtestMain(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevelForTests())))
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		// Default to the repository's control plane rather than skipping:
		// a missing control plane must fail, not pass as green.
		assets, _ := filepath.Abs(filepath.Join("..", "..", "bin", "k8s"))
		if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
			fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set and bin/k8s has no kube-apiserver: run `make controlplane` and `make test`")
			return 1
		}
		os.Setenv("KUBEBUILDER_ASSETS", assets)
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	if testCfg, err = testEnv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	if testClient, err = client.New(testCfg, client.Options{Scheme: newScheme()}); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "flycheck-envtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	admin, err := testEnv.AddUser(envtest.User{Name: "test-admin", Groups: []string{"system:masters"}}, testCfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "adding the test user:", err)
		return 1
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig:", err)
		return 1
	}
	testKubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(testKubeconfig, kc, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// createTestNamespace makes a namespace for one test. envtest has no
// namespace controller, so a deleted namespace would stay Terminating; names
// are unique per test, so it is simply left behind.
func createTestNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := testClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// newTestNamespace makes a namespace named prefix-<random>, so that a test
// can run more than once against the same apiserver (-count=N).
func newTestNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := testClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace %s-*: %v", prefix, err)
	}
	return ns.Name
}

// waitFor polls cond until it returns nil or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func zapLevelForTests() zapcore.Level {
	if os.Getenv("TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.WarnLevel
}
