package testenv

import (
	"context"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/medfund/flycheck-operator/controllers/scheme"
)

// Manager is a running controller-runtime manager.
type Manager struct {
	ctrl.Manager
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// RunManager starts a manager on cfg (as whatever identity cfg holds) with
// the controllers setup registers, and waits until its cache has synced.
// Its metrics server is off, and controller names may repeat, so that one
// process can run one manager after another.
func RunManager(ctx context.Context, cfg *rest.Config, setup func(ctrl.Manager) error) (*Manager, error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme.New(),
		Cache:      scheme.CacheOptions(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	if err := setup(mgr); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Manager{Manager: mgr, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		_ = m.Stop()
		return nil, context.Cause(syncCtx)
	}
	return m, nil
}

// Stop stops the manager and returns what Start returned; calling it again
// returns the same.
func (m *Manager) Stop() error {
	m.once.Do(func() {
		m.cancel()
		m.err = <-m.done
	})
	return m.err
}

// StartManager runs a manager (see RunManager) until stop is called or the
// test ends; a manager that fails fails the test.
func StartManager(t testing.TB, cfg *rest.Config, setup func(ctrl.Manager) error) (stop func()) {
	t.Helper()
	m, err := RunManager(context.Background(), cfg, setup)
	if err != nil {
		t.Fatalf("starting a manager: %v", err)
	}
	stop = func() {
		if err := m.Stop(); err != nil {
			t.Errorf("manager: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}
