package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// demoFlags are the settings of flycheck-demo.
type demoFlags struct {
	assets       string
	flycheck     string
	workdir      string
	phaseSeconds int
	keepRunning  bool
}

// newDemoCommand is the whole demo: a local control plane, the operator
// in-process and a campaign whose phases last seconds, printed as it
// advances. Everything it starts is bound to loopback and stopped on exit.
func newDemoCommand() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "flycheck-demo",
		Short: "Run a compressed campaign on a local control plane (make demo)",
		Long: `Starts kube-apiserver and etcd on loopback (binaries from --assets, built by
'make controlplane'), installs the CRDs, runs the operator in-process, applies a
demo Campaign whose phases last --phase-seconds each, and prints every phase
transition as it happens. The screening Jobs' pods run as local processes of
the flycheck binary (--flycheck, built by 'make build'). While it runs, the
printed KUBECONFIG works with kubectl (bin/k8s/kubectl, built by 'make kubectl').`,
		Args: cobra.NoArgs,
		// Errors are printed once by main; usage only for flag mistakes.
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, cmd.OutOrStdout(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.assets, "assets", "bin/k8s", "directory holding kube-apiserver, etcd and kubectl")
	fs.StringVar(&f.flycheck, "flycheck", "", "the flycheck binary the screening pods run (default: flycheck next to this binary)")
	fs.StringVar(&f.workdir, "workdir", ".demo", "directory for the kubeconfig and the demo's data")
	fs.IntVar(&f.phaseSeconds, "phase-seconds", 15, "length of each demo phase")
	fs.BoolVar(&f.keepRunning, "keep-running", false, "keep the control plane up after the campaign finishes, until Ctrl-C")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, f demoFlags) error {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	if err := os.MkdirAll(f.workdir, 0o755); err != nil {
		return err
	}
	workdir, err := filepath.Abs(f.workdir)
	if err != nil {
		return err
	}
	flycheck, err := flycheckBinary(f.flycheck)
	if err != nil {
		return err
	}

	say := newDemoPrinter(out)
	say.line("starting kube-apiserver and etcd on loopback ...")
	env, err := testenv.Start(testenv.Options{Assets: f.assets})
	if err != nil {
		return err
	}
	defer func() {
		say.line("stopping the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
		}
	}()
	kubeconfigPath := filepath.Join(workdir, "kubeconfig")
	if err := env.WriteAdminKubeconfig(kubeconfigPath, "demo-admin"); err != nil {
		return err
	}
	kubectl := filepath.Join(env.Assets, "kubectl")
	say.line("control plane up at %s; in another terminal:", env.Config.Host)
	say.line("    export KUBECONFIG=%s", kubeconfigPath)
	say.line("    %s get camp,sj,isample -A", kubectl)

	mgr, err := testenv.RunManager(ctx, env.Config, func(mgr ctrl.Manager) error {
		return controllers.SetupWithManager(mgr, controllers.Options{})
	})
	if err != nil {
		return fmt.Errorf("starting the operator: %w", err)
	}
	defer func() {
		if err := mgr.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "operator:", err)
		}
	}()

	c := env.Client
	ruleSets, err := prepareDemoScreening(ctx, c, workdir, say)
	if err != nil {
		return err
	}
	stopNode, err := startDemoNode(ctx, env.Config, flycheck, workdir, kubeconfigPath, say)
	if err != nil {
		return err
	}
	defer stopNode()

	camp := demoCampaign(time.Now(), time.Duration(f.phaseSeconds)*time.Second, ruleSets)
	withDemoReports(camp, time.Duration(f.phaseSeconds)*time.Second)
	// The operator's namespace holds the sampling key Secret.
	for _, ns := range append(demoNamespaces(camp), controllers.OperatorNamespaceFromEnvironment()) {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	if err := c.Create(ctx, camp); err != nil {
		return fmt.Errorf("applying the demo campaign: %w", err)
	}
	say.line("applied Campaign %s: %d cities, %d phases of %ds each", camp.Name, len(camp.Spec.Cities), len(camp.Spec.Phases), f.phaseSeconds)

	stopResults := followDemoResults(ctx, c, say)
	followed := make(chan error, 1)
	go func() { followed <- followCampaign(ctx, c, camp.Name, say) }()
	b := &bureaus{c: c, camp: camp, flycheck: flycheck, kubectl: kubectl, kubeconfig: kubeconfigPath, workdir: workdir, say: say}
	if err := b.playSecondHalf(ctx); err != nil {
		say.line("the bureaus stopped: %v", err)
	}
	err = <-followed
	stopResults()
	if err != nil {
		return err
	}
	printDemoResults(ctx, c, camp, out)
	printDemoDraws(ctx, c, camp, out)
	saveDemoReport(ctx, c, camp, workdir, out)
	verifyDemoDraw(ctx, out, flycheck, kubeconfigPath, camp.Spec.Cities[0].Namespace+"/"+controllers.ChildName(camp.Name, "spotcheck", camp.Spec.Cities[0].Name))
	showKubectl(ctx, out, kubectl, kubeconfigPath, "get", "camp")
	showKubectl(ctx, out, kubectl, kubeconfigPath, "get", "sj", "-A")
	showKubectl(ctx, out, kubectl, kubeconfigPath, "get", "jobs", "-A")
	showKubectl(ctx, out, kubectl, kubeconfigPath, "get", "isample", "-A")
	printCaseTable(ctx, c, camp.Name, out)
	showKubectl(ctx, out, kubectl, kubeconfigPath, "get", "icase", "-A")
	if f.keepRunning {
		say.line("campaign finished; the control plane stays up until Ctrl-C")
		<-ctx.Done()
	}
	return nil
}

// flycheckBinary is the flycheck binary the screening pods run: path if
// given, else flycheck next to this binary (make build puts both in bin/).
func flycheckBinary(path string) (string, error) {
	if path == "" {
		self, err := os.Executable()
		if err != nil {
			return "", err
		}
		path = filepath.Join(filepath.Dir(self), "flycheck")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		return "", fmt.Errorf("the flycheck binary %s is missing: run `make build` (or `make demo`, which does), or give --flycheck", path)
	}
	return path, nil
}

// followCampaign prints each phase transition as status reports it, until
// every phase has completed or ctx ends.
func followCampaign(ctx context.Context, c client.Client, name string, say *demoPrinter) error {
	seen := map[string]flycheckv1.PhaseState{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var camp flycheckv1.Campaign
		if err := c.Get(ctx, types.NamespacedName{Name: name}, &camp); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return err
		}
		done := len(camp.Status.Phases) > 0
		for _, p := range camp.Status.Phases {
			if seen[p.Name] != p.State {
				if p.State != flycheckv1.PhasePending {
					say.line("phase %s (%s) is now %s; current phase: %q", p.Name, phaseDisplayName(&camp, p.Name), p.State, camp.Status.CurrentPhase)
				}
				seen[p.Name] = p.State
			}
			done = done && p.State == flycheckv1.PhaseCompleted
		}
		if done {
			say.line("campaign %s finished: all %d phases completed", name, len(camp.Status.Phases))
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func phaseDisplayName(camp *flycheckv1.Campaign, phase string) string {
	for _, p := range camp.Spec.Phases {
		if p.Name == phase {
			return p.DisplayName
		}
	}
	return ""
}

// demoCampaign is a Jiangsu-shaped campaign compressed to seconds: every
// phase lasts d, and the fly-check overlaps the spot-check as in 2020. The
// data analysis screens each city's 2024 claims with ruleSets in 2 shards;
// the spot-check draws a recheck sample per city and the fly-check one for
// the province, from the screening frames.
func demoCampaign(now time.Time, d time.Duration, ruleSets []string) *flycheckv1.Campaign {
	t0 := now.Add(5 * time.Second).Truncate(time.Second)
	at := func(n float64) flycheckv1.Date {
		return flycheckv1.Date(t0.Add(time.Duration(n * float64(d))).Format(time.RFC3339))
	}
	ph := func(name, display string, from, to float64) flycheckv1.Phase {
		return flycheckv1.Phase{Name: name, DisplayName: display, Start: at(from), End: at(to)}
	}
	dataAnalysis := ph("dataanalysis", "数据采集分析", 1, 2)
	dataAnalysis.Screening = &flycheckv1.PhaseScreening{RuleSets: ruleSets, Shards: 2}
	selfInspection := ph("selfinspection", "自查自纠", 2, 3)
	selfInspection.SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeFlagged}
	spotCheck := ph("spotcheck", "检查抽查", 3, 4)
	spotCheck.Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck, SamplingPolicy: flycheckv1.SamplingPolicy{
		MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 6, RiskBasedPercent: 50}}
	flyCheck := ph("flycheck", "飞行检查", 3, 5)
	flyCheck.Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeFlyCheck, SamplingPolicy: flycheckv1.SamplingPolicy{
		MinPercent: 0, MinTertiaryPerCity: 2, MinTotal: 8, RiskBasedPercent: 50}}
	return &flycheckv1.Campaign{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-province"},
		Spec: flycheckv1.CampaignSpec{
			DisplayName:       "演示省打击欺诈骗保专项治理 (demo)",
			TimeZone:          "Asia/Shanghai",
			ProvinceNamespace: "demo-province",
			DataWindow:        &flycheckv1.DataWindow{From: "2024-01-01", To: "2024-12-31"},
			DataSource:        demoDataSource(),
			Cities: []flycheckv1.City{
				{Name: "nanjing", DisplayName: "南京市", Namespace: "demo-nanjing", Code: "320100"},
				{Name: "wuxi", DisplayName: "无锡市", Namespace: "demo-wuxi", Code: "320200"},
				{Name: "xuzhou", DisplayName: "徐州市", Namespace: "demo-xuzhou", Code: "320300"},
			},
			Phases: []flycheckv1.Phase{
				ph("mobilization", "宣传动员", 0, 1),
				dataAnalysis,
				selfInspection,
				spotCheck,
				flyCheck,
				ph("consolidation", "巩固复查", 5, 6),
				ph("summary", "总结完善", 6, 7),
			},
		},
	}
}

func demoNamespaces(camp *flycheckv1.Campaign) []string {
	out := []string{camp.Spec.ProvinceNamespace}
	for _, c := range camp.Spec.Cities {
		out = append(out, c.Namespace)
	}
	return out
}

// showKubectl prints what a city bureau would see, when kubectl has been
// built (make kubectl); the demo works without it.
func showKubectl(ctx context.Context, out io.Writer, kubectl, kubeconfig string, args ...string) {
	if _, err := os.Stat(kubectl); err != nil {
		return
	}
	fmt.Fprintf(out, "\n$ kubectl %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	_ = cmd.Run()
	fmt.Fprintln(out)
}

// demoPrinter prefixes every line with the time since the demo began. The
// node player and the result watcher print from their own goroutines.
type demoPrinter struct {
	mu    sync.Mutex
	out   io.Writer
	start time.Time
}

func newDemoPrinter(out io.Writer) *demoPrinter { return &demoPrinter{out: out, start: time.Now()} }

// block lets f write several lines at once (kubectl's output), between
// the other goroutines' lines.
func (p *demoPrinter) block(f func(io.Writer)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p.out)
}

func (p *demoPrinter) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
