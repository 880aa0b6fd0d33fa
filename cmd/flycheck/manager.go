package main

import (
	"crypto/tls"
	"flag"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
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
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := flycheckv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
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
	fs := cmd.Flags()
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint; 0 disables it")
	fs.BoolVar(&f.metricsSecure, "metrics-secure", true, "serve metrics over HTTPS to clients the API server authenticates and authorizes for GET /metrics (ClusterRole flycheck-metrics-reader); false: plain HTTP to anyone who reaches the port")
	fs.StringVar(&f.metricsCertDir, "metrics-cert-dir", "", "directory with tls.crt and tls.key for the metrics endpoint; empty: a self-signed certificate made at start-up")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader so that only one replica reconciles")
	fs.StringVar(&f.opts.OperatorNamespace, "operator-namespace", "", "namespace of the sampling-key Secret (default: $POD_NAMESPACE, else flycheck-system)")
	fs.StringVar(&f.opts.ScreenerImage, "screener-image", controllers.DefaultScreenerImage, "image of the screening Job pods (the operator's own image)")
	zapFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	f.zap.BindFlags(zapFlags)
	fs.AddGoFlagSet(zapFlags)
	return cmd
}

// newManager is the operator's manager with every controller, as `flycheck
// manager` runs it (and TestMetricsEndpoint scrapes it; tweak lets a test
// adjust what a second manager in one process needs).
func newManager(cfg *rest.Config, f managerFlags, tweak ...func(*ctrl.Options)) (ctrl.Manager, error) {
	o := ctrl.Options{
		Scheme:                 newScheme(),
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
