package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/scheme"
)

// managerFlags are the operator's command-line settings.
type managerFlags struct {
	metricsAddr    string
	metricsSecure  bool
	metricsCertDir string
	probeAddr      string
	leaderElect    bool
	opts           controllers.Options
	zap            zap.Options
	// The screening pods' defaults, as flags give them (see screenerDefaults).
	screenerCPURequest, screenerMemoryRequest string
	screenerCPULimit, screenerMemoryLimit     string
	screenerDeadline                          time.Duration
}

// newManagerCommand runs the operator's controllers against the cluster of
// the in-cluster config or the current kubeconfig.
func newManagerCommand() *cobra.Command {
	var f managerFlags
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run the operator's controllers",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&f.zap)))
			mgr, err := newManager(ctrl.GetConfigOrDie(), f)
			if err != nil {
				return err
			}
			return mgr.Start(ctrl.SetupSignalHandler())
		},
	}
	bindManagerFlags(cmd.Flags(), &f)
	return cmd
}

// bindManagerFlags declares the manager's flags into f. Logs are JSON
// unless --zap-devel: one object per line, for the cluster's log pipeline.
func bindManagerFlags(fs *pflag.FlagSet, f *managerFlags) {
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint; 0 disables it")
	fs.BoolVar(&f.metricsSecure, "metrics-secure", true, "serve metrics over HTTPS to clients the API server authenticates and authorizes for GET /metrics (ClusterRole flycheck-metrics-reader); false: plain HTTP to anyone who reaches the port")
	fs.StringVar(&f.metricsCertDir, "metrics-cert-dir", "", "directory with tls.crt and tls.key for the metrics endpoint; empty: a self-signed certificate made at start-up")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader so that only one replica reconciles")
	fs.StringVar(&f.opts.OperatorNamespace, "operator-namespace", "", "namespace of the sampling-key Secret (default: $POD_NAMESPACE, else flycheck-system)")
	fs.StringVar(&f.opts.ScreenerImage, "screener-image", controllers.DefaultScreenerImage, "image of the screening Job pods (the operator's own image)")
	def := controllers.DefaultScreenerDefaults()
	quantity := func(l corev1.ResourceList, n corev1.ResourceName) string { q := l[n]; return q.String() }
	fs.StringVar(&f.screenerCPURequest, "screener-cpu-request", quantity(def.Resources.Requests, corev1.ResourceCPU), "CPU request of each screening pod whose ScreeningJob sets no resources (empty: none)")
	fs.StringVar(&f.screenerMemoryRequest, "screener-memory-request", quantity(def.Resources.Requests, corev1.ResourceMemory), "memory request of each screening pod (empty: none)")
	fs.StringVar(&f.screenerCPULimit, "screener-cpu-limit", quantity(def.Resources.Limits, corev1.ResourceCPU), "CPU limit of each screening pod (empty: none)")
	fs.StringVar(&f.screenerMemoryLimit, "screener-memory-limit", quantity(def.Resources.Limits, corev1.ResourceMemory), "memory limit of each screening pod; keep it above the screener's 768 MiB soft heap limit (empty: none)")
	fs.DurationVar(&f.screenerDeadline, "screener-active-deadline", time.Duration(*def.ActiveDeadlineSeconds)*time.Second, "activeDeadlineSeconds of each screening Job whose ScreeningJob sets none (0: none)")
	zapFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	f.zap.BindFlags(zapFlags)
	fs.AddGoFlagSet(zapFlags)
}

// newManager is the operator's manager with every controller, as `flycheck
// manager` runs it (and TestMetricsEndpoint scrapes it; tweak lets a test
// adjust what a second manager in one process needs).
func newManager(cfg *rest.Config, f managerFlags, tweak ...func(*ctrl.Options)) (ctrl.Manager, error) {
	if f.opts.Screener == nil {
		d, err := screenerDefaults(f)
		if err != nil {
			return nil, err
		}
		f.opts.Screener = &d
	}
	o := ctrl.Options{
		Scheme:                 scheme.New(),
		Cache:                  scheme.CacheOptions(),
		Metrics:                metricsOptions(f),
		HealthProbeBindAddress: f.probeAddr,
		LeaderElection:         f.leaderElect,
		LeaderElectionID:       "flycheck.medfund.io",
	}
	for _, fn := range tweak {
		fn(&o)
	}
	mgr, err := ctrl.NewManager(cfg, o)
	if err != nil {
		return nil, err
	}
	if err := controllers.SetupWithManager(mgr, f.opts); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

// metricsOptions serves metrics as kubebuilder's v4 scaffold does: HTTPS,
// each request's bearer token checked by the API server (TokenReview) and
// authorized for GET /metrics (SubjectAccessReview), so that counts of a
// campaign's screening and draws are not open to every pod of the cluster.
// HTTP/2 is off (CVE-2023-44487, CVE-2023-39325: rapid reset).
func metricsOptions(f managerFlags) metricsserver.Options {
	o := metricsserver.Options{BindAddress: f.metricsAddr}
	if !f.metricsSecure {
		return o
	}
	o.SecureServing = true
	o.CertDir = f.metricsCertDir
	o.FilterProvider = filters.WithAuthenticationAndAuthorization
	o.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	return o
}

// screenerDefaults reads the --screener-* flags.
func screenerDefaults(f managerFlags) (controllers.ScreenerDefaults, error) {
	var d controllers.ScreenerDefaults
	for _, q := range []struct {
		flag, value string
		list        *corev1.ResourceList
		name        corev1.ResourceName
	}{
		{"screener-cpu-request", f.screenerCPURequest, &d.Resources.Requests, corev1.ResourceCPU},
		{"screener-memory-request", f.screenerMemoryRequest, &d.Resources.Requests, corev1.ResourceMemory},
		{"screener-cpu-limit", f.screenerCPULimit, &d.Resources.Limits, corev1.ResourceCPU},
		{"screener-memory-limit", f.screenerMemoryLimit, &d.Resources.Limits, corev1.ResourceMemory},
	} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil {
			return d, fmt.Errorf("--%s=%s: %w", q.flag, q.value, err)
		}
		if *q.list == nil {
			*q.list = corev1.ResourceList{}
		}
		(*q.list)[q.name] = v
	}
	if f.screenerDeadline < 0 || (f.screenerDeadline > 0 && f.screenerDeadline < time.Second) {
		return d, fmt.Errorf("--screener-active-deadline=%s: give 0 (no deadline) or at least 1s", f.screenerDeadline)
	}
	if f.screenerDeadline > 0 {
		d.ActiveDeadlineSeconds = ptr.To(int64(f.screenerDeadline.Seconds()))
	}
	return d, nil
}
