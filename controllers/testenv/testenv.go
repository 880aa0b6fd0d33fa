// Package testenv is the one way this repository starts a control plane:
// a real kube-apiserver and etcd (envtest, binaries built from source by
// `make controlplane` into bin/k8s) with the operator's CRDs installed. The
// envtest suites of controllers/ and cmd/, and the demo, all start it here,
// run managers with StartManager and poll with Eventually.
//
// It is test machinery: only tests and cmd/flycheck-demo import it, never
// the operator binary (cmd/flycheck).
package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/medfund/flycheck-operator/config"
	"github.com/medfund/flycheck-operator/controllers/scheme"
)

// Options says where the control plane's binaries are.
type Options struct {
	// Assets is the directory holding kube-apiserver and etcd. Empty means
	// $KUBEBUILDER_ASSETS, else bin/k8s of the repository the current
	// directory is in (where `make controlplane` puts them).
	Assets string
}

// Env is a running control plane with the CRDs of config/crd/bases.
type Env struct {
	// Environment is the envtest control plane (for AddUser, the etcd URL).
	Environment *envtest.Environment
	// Config is a system:masters identity.
	Config *rest.Config
	// Scheme knows the built-in kinds and the operator's.
	Scheme *runtime.Scheme
	// Client is a client for Config with Scheme.
	Client client.Client
	// Assets is the directory the binaries came from (it also holds
	// kubectl once `make kubectl` has built it).
	Assets string

	tmpDir string // AdminKubeconfig's, removed by Stop
}

// Start starts kube-apiserver and etcd on loopback and installs the CRDs.
// A missing control plane is an error, never a skip: a suite that cannot
// reach an apiserver must fail rather than pass as green.
func Start(opts Options) (*Env, error) {
	assets, err := resolveAssets(opts.Assets)
	if err != nil {
		return nil, err
	}
	crds, err := CRDs()
	if err != nil {
		return nil, err
	}
	e := &Env{
		Environment: &envtest.Environment{BinaryAssetsDirectory: assets, CRDs: crds, ErrorIfCRDPathMissing: true},
		Scheme:      scheme.New(),
		Assets:      assets,
	}
	if e.Config, err = e.Environment.Start(); err != nil {
		return nil, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	if e.Client, err = client.New(e.Config, client.Options{Scheme: e.Scheme}); err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	return e, nil
}

// Stop stops kube-apiserver and etcd.
func (e *Env) Stop() error {
	if e.tmpDir != "" {
		defer os.RemoveAll(e.tmpDir)
	}
	return e.Environment.Stop()
}

// AdminKubeconfig writes a system:masters kubeconfig file into a directory
// of its own (removed by Stop) and returns its path.
func (e *Env) AdminKubeconfig() (string, error) {
	if e.tmpDir == "" {
		dir, err := os.MkdirTemp("", "flycheck-envtest-")
		if err != nil {
			return "", err
		}
		e.tmpDir = dir
	}
	path := filepath.Join(e.tmpDir, "kubeconfig")
	return path, e.WriteAdminKubeconfig(path, "test-admin")
}

// WriteAdminKubeconfig writes a kubeconfig file for a system:masters user
// named user, for commands that read KUBECONFIG (envtest's own Config has
// no kubeconfig).
func (e *Env) WriteAdminKubeconfig(path, user string) error {
	admin, err := e.Environment.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, e.Config)
	if err != nil {
		return fmt.Errorf("adding user %s: %w", user, err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	return os.WriteFile(path, kc, 0o600)
}

// CRDs decodes config/crd/bases, as `make manifests` generated it (the
// files are compiled in, so the demo needs no checkout).
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	err := fs.WalkDir(config.CRDs, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := config.CRDs.ReadFile(path)
		if err != nil {
			return err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return fmt.Errorf("CRD %s: %w", path, err)
		}
		out = append(out, crd)
		return nil
	})
	if err == nil && len(out) == 0 {
		err = errors.New("config/crd/bases holds no CRD: run `make manifests`")
	}
	return out, err
}

// resolveAssets finds kube-apiserver and etcd (see Options.Assets).
func resolveAssets(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("KUBEBUILDER_ASSETS is not set and %w", err)
		}
		dir = filepath.Join(root, "bin", "k8s")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%s not found in %s: run `make controlplane` (`make test` and `make demo` do)", bin, dir)
		}
	}
	return dir, nil
}

// RepoRoot is the directory of the go.mod above the current directory (a
// test runs in its package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the current directory")
		}
		dir = parent
	}
}
