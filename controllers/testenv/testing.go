package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Main is a package's TestMain: it starts the control plane, hands it to
// setup (which sets the package's variables), runs the tests, calls the
// teardown setup returned (if any) and stops the control plane. It returns
// the exit code. The controllers log at warning level, at debug level when
// TEST_VERBOSE is set.
func Main(m *testing.M, setup func(*Env) (teardown func(), err error)) int {
	level := zapcore.WarnLevel // keep `make test` readable
	if os.Getenv("TEST_VERBOSE") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(level)))
	env, err := Start(Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "envtest:", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	teardown, err := setup(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "envtest:", err)
		return 1
	}
	if teardown != nil {
		defer teardown()
	}
	return m.Run()
}

// PollInterval is how often Eventually asks.
const PollInterval = 50 * time.Millisecond

// Eventually polls cond every PollInterval until it returns nil, and fails
// the test with cond's last error if the timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	EventuallyEvery(t, PollInterval, timeout, cond)
}

// EventuallyEvery is Eventually asking every interval (benchmarks poll
// less often, to load the apiserver they measure less).
func EventuallyEvery(t testing.TB, interval, timeout time.Duration, cond func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), interval, timeout, true, func(context.Context) (bool, error) {
		last = cond()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("condition not met within %s: %v", timeout, last)
	}
}

// CreateNamespace makes a namespace and deletes it when the test ends.
// envtest has no namespace controller, so a deleted namespace stays
// Terminating: names must be unique per test (or use NewNamespace).
func CreateNamespace(t testing.TB, c client.Client, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
}

// NewNamespace makes a namespace named prefix-<random>, so that a test can
// run more than once against the same apiserver (-count=N), and deletes it
// when the test ends.
func NewNamespace(t testing.TB, c client.Client, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace %s-*: %v", prefix, err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	return ns.Name
}

// DefaultRuleFiles are the repository's default RuleSet catalogue: the
// RuleSet manifests of config/rules, not its kustomization.
func DefaultRuleFiles(t testing.TB) []string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	all, err := filepath.Glob(filepath.Join(root, "config", "rules", "*.yaml"))
	var files []string
	for _, f := range all {
		if filepath.Base(f) != "kustomization.yaml" {
			files = append(files, f)
		}
	}
	if err != nil || len(files) < 7 {
		t.Fatalf("default rule catalogue: %v (%d files)", err, len(files))
	}
	return files
}

// DefaultRules parses the default catalogue (DefaultRuleFiles).
func DefaultRules(t testing.TB) []rules.Rule {
	t.Helper()
	cat, err := rules.LoadFiles(DefaultRuleFiles(t)...)
	if err != nil {
		t.Fatal(err)
	}
	return cat.Rules
}
