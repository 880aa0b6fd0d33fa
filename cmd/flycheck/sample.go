package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/scheme"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// errMismatch makes `flycheck sample verify` exit 1 after it has printed the
// difference; main prints the error once on stderr.
var errMismatch = errors.New("the recorded selection does not match the draw")

// newSampleCommand groups the auditor's tools for the inspection draw
// (flycheck-sample/v1, docs/sampling.md): `draw` and `verify`.
func newSampleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Re-make or verify an inspection draw (抽查复查 / 飞行检查) from a frame file",
	}
	cmd.AddCommand(newSampleDrawCommand(), newSampleVerifyCommand())
	return cmd
}

// policyFlags are the four policy numbers. A flag given on the command line
// wins over a policy recorded in the selection file; without either, the
// Campaign defaults apply (minPercent 10, minTertiaryPerCity 2, the others 0).
type policyFlags struct {
	p sampling.Policy
}

func (f *policyFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVar(&f.p.MinPercent, "min-percent", 10, "minimum percent of each city's institutions (0..100)")
	fs.IntVar(&f.p.MinTertiaryPerCity, "min-tertiary-per-city", 2, "minimum tertiary (三级) hospitals per city")
	fs.IntVar(&f.p.MinTotal, "min-total", 0, "minimum institutions in the whole frame (province-wide)")
	fs.IntVar(&f.p.RiskBasedPercent, "risk-based-percent", 0, "percent of non-tertiary-quota picks taken by risk (0..100)")
}

// resolve merges the flags with a recorded policy: explicit flags first.
func (f *policyFlags) resolve(cmd *cobra.Command, recorded *sampling.Policy) sampling.Policy {
	if recorded == nil {
		return f.p
	}
	p := *recorded
	fs := cmd.Flags()
	if fs.Changed("min-percent") {
		p.MinPercent = f.p.MinPercent
	}
	if fs.Changed("min-tertiary-per-city") {
		p.MinTertiaryPerCity = f.p.MinTertiaryPerCity
	}
	if fs.Changed("min-total") {
		p.MinTotal = f.p.MinTotal
	}
	if fs.Changed("risk-based-percent") {
		p.RiskBasedPercent = f.p.RiskBasedPercent
	}
	return p
}

func newSampleDrawCommand() *cobra.Command {
	var (
		frames []string
		seed   string
		output string
		pf     policyFlags
	)
	cmd := &cobra.Command{
		Use:   "draw --frame FRAME.csv --seed SEED [policy flags]",
		Short: "Draw a sample from a frame file and print it (JSON like InspectionSample status, or CSV)",
		Example: `  flycheck sample draw --frame frame.csv --seed 3f2a… --min-percent 10 --min-tertiary-per-city 2 --min-total 26
  flycheck sample draw --frame nanjing.csv --frame wuxi.csv --seed S --min-percent 0 --min-total 30 -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "json" && output != "csv" {
				return fmt.Errorf("--output %q: want json or csv", output)
			}
			frame, err := loadFrames(frames)
			if err != nil {
				return err
			}
			res, err := sampling.Draw(frame, pf.p, seed)
			if err != nil {
				return err
			}
			for _, s := range res.Shortfalls {
				fmt.Fprintln(cmd.ErrOrStderr(), "shortfall:", s.Message)
			}
			out := cmd.OutOrStdout()
			if output == "csv" {
				return sampling.WriteSelectionCSV(out, res.Selected)
			}
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	cmd.Flags().StringArrayVar(&frames, "frame", nil, "frame CSV or frame ConfigMap JSON (repeat to merge several cities' frames)")
	cmd.Flags().StringVar(&seed, "seed", "", "the draw's seed (InspectionSample status.seed)")
	cmd.Flags().StringVarP(&output, "output", "o", "json", "json (the whole draw) or csv (the selection)")
	pf.bind(cmd)
	_ = cmd.MarkFlagRequired("frame")
	_ = cmd.MarkFlagRequired("seed")
	return cmd
}

func newSampleVerifyCommand() *cobra.Command {
	var (
		frames      []string
		seed        string
		selection   string
		fromCluster string
		kube        kubeFlags
		pf          policyFlags
	)
	cmd := &cobra.Command{
		Use:   "verify (--frame FRAME.csv --selection FILE | --from-cluster NAMESPACE/NAME) [--seed SEED] [policy flags]",
		Short: "Re-derive a draw and compare it with a recorded selection: prints match (exit 0) or the first difference (exit 1)",
		Long: `Re-derives the flycheck-sample/v1 draw from the frame, seed and policy and
compares it entry by entry with the recorded selection.

The selection file (or - for stdin) may be:
  - the list status.selected:  kubectl get isample X -o json | jq .status.selected
  - a whole InspectionSample:  kubectl get isample X -o json
  - the output of 'flycheck sample draw' (JSON), or its CSV form (-o csv).
A whole InspectionSample or draw also records the seed, the policy and the
frame digest: the seed and policy are then taken from it unless given as
flags, and a frame whose digest differs from the recorded one is reported.

With --from-cluster NAMESPACE/NAME the InspectionSample is read from the
cluster of the kubeconfig (--kubeconfig, else $KUBECONFIG, else
~/.kube/config), and so is its frame: the ConfigMaps its status says the
draw read (status.frame.configMaps), or, for an older record, the frames its
spec names. --frame then replaces the cluster's frame with files, to check a
draw against an auditor's own copy of the frame.`,
		Example: `  kubectl -n nanjing get isample jiangsu-2020-spotcheck-nanjing -o json > sample.json
  kubectl -n nanjing get cm jiangsu-2020-dataanalysis-nanjing-frame -o json > frame.json
  flycheck sample verify --frame frame.json --selection sample.json

  flycheck sample verify --from-cluster nanjing/jiangsu-2020-spotcheck-nanjing`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				frame []sampling.Institution
				rec   sampling.Recorded
				err   error
			)
			switch {
			case fromCluster != "":
				if selection != "" {
					return errors.New("--selection and --from-cluster exclude each other: the selection is the InspectionSample's")
				}
				frame, rec, err = readFromCluster(cmd.Context(), cmd.ErrOrStderr(), kube, fromCluster, frames)
			case len(frames) == 0 || selection == "":
				return errors.New("give --frame and --selection, or --from-cluster NAMESPACE/NAME")
			default:
				if frame, err = loadFrames(frames); err == nil {
					rec, err = loadSelection(cmd.InOrStdin(), selection)
				}
			}
			if err != nil {
				return err
			}
			in := verifyInput{
				Frame:    frame,
				Policy:   pf.resolve(cmd, rec.Policy),
				Seed:     seed,
				Recorded: rec,
			}
			return runVerify(cmd.OutOrStdout(), cmd.ErrOrStderr(), in)
		},
	}
	cmd.Flags().StringArrayVar(&frames, "frame", nil, "frame CSV or frame ConfigMap JSON (repeat to merge several cities' frames)")
	cmd.Flags().StringVar(&seed, "seed", "", "the recorded seed (default: the one in the selection file)")
	cmd.Flags().StringVar(&selection, "selection", "", "recorded selection: JSON or CSV file, - for stdin")
	cmd.Flags().StringVar(&fromCluster, "from-cluster", "", "read the InspectionSample NAMESPACE/NAME and its frame from the cluster")
	kube.bind(cmd)
	pf.bind(cmd)
	return cmd
}

// kubeFlags select the cluster of --from-cluster.
type kubeFlags struct {
	kubeconfig string
	context    string
}

func (k *kubeFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	cmd.Flags().StringVar(&k.context, "context", "", "kubeconfig context (default: the current one)")
}

func (k kubeFlags) client() (client.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: k.context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return client.New(cfg, client.Options{Scheme: scheme.New()})
}

// readFromCluster reads an InspectionSample and the frame its draw was made
// from; frameFiles, when given, replace the cluster's frame.
func readFromCluster(ctx context.Context, errOut io.Writer, kube kubeFlags, ref string, frameFiles []string) ([]sampling.Institution, sampling.Recorded, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return nil, sampling.Recorded{}, fmt.Errorf("--from-cluster %q: want NAMESPACE/NAME", ref)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := kube.client()
	if err != nil {
		return nil, sampling.Recorded{}, err
	}
	var s flycheckv1.InspectionSample
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		return nil, sampling.Recorded{}, fmt.Errorf("reading InspectionSample %s: %w", ref, err)
	}
	// The record is parsed exactly as `kubectl get isample -o json` output
	// would be, so both paths agree on what an InspectionSample records.
	data, err := json.Marshal(&s)
	if err != nil {
		return nil, sampling.Recorded{}, err
	}
	rec, err := sampling.ParseSelection(data)
	if err != nil {
		return nil, sampling.Recorded{}, fmt.Errorf("InspectionSample %s: %w", ref, err)
	}
	if len(frameFiles) > 0 {
		frame, err := loadFrames(frameFiles)
		return frame, rec, err
	}

	resolver := controllers.FrameResolver{ScreeningJobs: c, ConfigMaps: c}
	var (
		res      controllers.ResolvedFrame
		problems []controllers.FrameProblem
	)
	switch {
	case s.Status.Frame != nil && s.Status.Frame.Snapshot != "":
		// The frame as drawn from, kept by the operator in the sample's own
		// immutable ConfigMap: verifiable whatever happened to the frames.
		res, problems, err = resolver.ReadConfigMaps(ctx, ns, []string{s.Status.Frame.Snapshot})
	case s.Status.Frame != nil && len(s.Status.Frame.ConfigMaps) > 0:
		res, problems, err = resolver.ReadConfigMaps(ctx, ns, s.Status.Frame.ConfigMaps)
	default:
		res, problems, err = resolver.Resolve(ctx, ns, s.Spec.Frames)
	}
	if err != nil {
		return nil, sampling.Recorded{}, err
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Message
		}
		return nil, sampling.Recorded{}, fmt.Errorf("the frame of InspectionSample %s cannot be read: %s", ref, strings.Join(msgs, "; "))
	}
	if f := s.Status.Frame; f != nil && f.Snapshot != "" {
		fmt.Fprintf(errOut, "read InspectionSample %s and its frame from ConfigMap %s (the snapshot of %s taken at the draw)\n",
			ref, f.Snapshot, strings.Join(f.ConfigMaps, ", "))
	} else {
		fmt.Fprintf(errOut, "read InspectionSample %s and its frame from ConfigMaps %s\n", ref, strings.Join(res.ConfigMaps, ", "))
	}
	return res.Institutions, rec, nil
}

// verifyInput is everything a verification needs, however it was obtained:
// from files here, or (for `--from-cluster`) from an InspectionSample, its
// frame ConfigMaps and their spec.policy / status.seed.
type verifyInput struct {
	Frame    []sampling.Institution
	Policy   sampling.Policy
	Seed     string            // explicit seed; empty = Recorded.Seed
	Recorded sampling.Recorded // the selection and any provenance it came with
}

// runVerify prints "match" on out and returns nil, or prints the first
// difference and returns errMismatch. Context (what was compared) goes to
// errOut so that out stays machine-readable.
func runVerify(out, errOut io.Writer, in verifyInput) error {
	rec := in.Recorded
	if rec.Algorithm != "" && rec.Algorithm != sampling.Algorithm {
		return fmt.Errorf("the selection was drawn with %s; this flycheck implements %s", rec.Algorithm, sampling.Algorithm)
	}
	seed := in.Seed
	switch {
	case seed == "" && rec.Seed == "":
		return errors.New("no seed: pass --seed (InspectionSample status.seed)")
	case seed == "":
		seed = rec.Seed
	case rec.Seed != "" && rec.Seed != seed:
		fmt.Fprintf(out, "differs: seed is %q on the command line but %q in the record\n", seed, rec.Seed)
		return errMismatch
	}

	v, err := sampling.Verify(in.Frame, in.Policy, seed, rec.Selected)
	if err != nil {
		return err
	}
	p := in.Policy
	fmt.Fprintf(errOut, "frame: %d institutions (%d tertiary), digest %s\n", v.Result.Frame.Size, v.Result.Frame.Tertiary, v.Result.Frame.Digest)
	fmt.Fprintf(errOut, "policy: minPercent %d, minTertiaryPerCity %d, minTotal %d, riskBasedPercent %d; seed %s\n",
		p.MinPercent, p.MinTertiaryPerCity, p.MinTotal, p.RiskBasedPercent, seed)

	// A different frame digest means the frame is not the one the draw was
	// made from, even if the selection happens to come out the same.
	if rec.Digest != "" && rec.Digest != v.Result.Frame.Digest {
		fmt.Fprintf(out, "differs: frame digest is %s, the record says %s (not the frame the draw was made from)\n",
			v.Result.Frame.Digest, rec.Digest)
		return errMismatch
	}
	if !v.Match {
		fmt.Fprintf(out, "differs: %s\n", v.Difference)
		return errMismatch
	}
	fmt.Fprintln(out, "match")
	fmt.Fprintf(errOut, "%d selected entries agree\n", len(rec.Selected))
	return nil
}

// loadFrames reads and merges frame files. Each is a frame CSV, or the JSON
// of its ConfigMap (`kubectl get cm NAME -o json`) holding the CSV under the
// key frame.csv in data or binaryData, optionally gzip-compressed.
func loadFrames(paths []string) ([]sampling.Institution, error) {
	var frames [][]sampling.Institution
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		csvData, err := frameCSV(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		f, err := sampling.ReadFrame(bytes.NewReader(csvData))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		frames = append(frames, f)
	}
	merged, err := sampling.MergeFrames(frames...)
	if err != nil {
		return nil, fmt.Errorf("merging frames %s: %w", strings.Join(paths, ", "), err)
	}
	return merged, nil
}

func frameCSV(data []byte) ([]byte, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return data, nil
	}
	var cm corev1.ConfigMap
	if err := json.Unmarshal(data, &cm); err != nil {
		return nil, fmt.Errorf("frame JSON: %w", err)
	}
	if cm.Kind != "ConfigMap" {
		return nil, fmt.Errorf("frame JSON is a %q, want a ConfigMap with %s", cm.Kind, flycheckv1.FrameKey)
	}
	// The same reading as the controller's, gzip included.
	return controllers.FrameCSV(&cm)
}

func loadSelection(stdin io.Reader, path string) (sampling.Recorded, error) {
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return sampling.Recorded{}, err
	}
	rec, err := sampling.ParseSelection(data)
	if err != nil {
		return sampling.Recorded{}, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}
