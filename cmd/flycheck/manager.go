package main

import (
	"flag"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/scheme"
)

// managerFlags are the operator's command-line settings.
type managerFlags struct {
	metricsAddr string
	probeAddr   string
	leaderElect bool
	opts        controllers.Options
	zap         zap.Options
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
			mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
				Scheme:                 scheme.New(),
				Cache:                  scheme.CacheOptions(),
				Metrics:                metricsserver.Options{BindAddress: f.metricsAddr},
				HealthProbeBindAddress: f.probeAddr,
				LeaderElection:         f.leaderElect,
				LeaderElectionID:       "flycheck.medfund.io",
			})
			if err != nil {
				return err
			}
			if err := controllers.SetupWithManager(mgr, f.opts); err != nil {
				return err
			}
			if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
				return err
			}
			if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
				return err
			}
			return mgr.Start(ctrl.SetupSignalHandler())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader so that only one replica reconciles")
	fs.StringVar(&f.opts.OperatorNamespace, "operator-namespace", "", "namespace of the sampling-key Secret (default: $POD_NAMESPACE, else flycheck-system)")
	fs.StringVar(&f.opts.ScreenerImage, "screener-image", controllers.DefaultScreenerImage, "image of the screening Job pods (the operator's own image)")
	zapFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	f.zap.BindFlags(zapFlags)
	fs.AddGoFlagSet(zapFlags)
	return cmd
}
