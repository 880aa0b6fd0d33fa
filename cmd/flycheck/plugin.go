package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/cmd/internal/campaignview"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

// pluginName is the name kubectl finds the plugin by: the flycheck binary
// installed (or linked) as kubectl-flycheck on $PATH answers `kubectl
// flycheck ...` (docs/kubectl-plugin.md).
const pluginName = "kubectl-flycheck"

// rootFor picks the command tree by the name the binary was run as.
func rootFor(argv0 string) *cobra.Command {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") == pluginName {
		return newPluginCommand()
	}
	return newRootCommand()
}

// newPluginCommand is `kubectl flycheck`: what a city bureau or provincial
// IT reads, with kubectl's --kubeconfig, --context and -n.
func newPluginCommand() *cobra.Command {
	var kf pluginFlags
	root := &cobra.Command{
		Use:           "kubectl flycheck",
		Short:         "Read flycheck campaigns, samples and cases (打击欺诈骗保专项治理) from the cluster",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&kf.kube.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	pf.StringVar(&kf.kube.context, "context", "", "kubeconfig context (default: the current one)")
	pf.StringVarP(&kf.namespace, "namespace", "n", "", "namespace (default: the kubeconfig context's)")
	pf.BoolVarP(&kf.allNamespaces, "all-namespaces", "A", false, "every namespace the reader may list")
	// report is flycheck's own command (its --kubeconfig and --context are
	// its own flags, which shadow the persistent ones).
	root.AddCommand(newPluginStatusCommand(&kf), newPluginSamplesCommand(&kf), newPluginCasesCommand(&kf), newPluginVerifyCommand(&kf),
		newReportCommand())
	return root
}

type pluginFlags struct {
	kube          kubeFlags
	namespace     string
	allNamespaces bool
}

// list fills list with the objects in scope: -A, else -n, else the
// context's namespace; only the campaign's when campaign is set.
func (f *pluginFlags) list(ctx context.Context, c client.Client, campaign string, list client.ObjectList) error {
	var opts []client.ListOption
	if campaign != "" {
		opts = append(opts, client.MatchingLabels{flycheckv1.LabelCampaign: campaign})
	}
	if !f.allNamespaces {
		ns, err := f.kube.namespace(f.namespace)
		if err != nil {
			return err
		}
		if ns == "" {
			ns = "default"
		}
		opts = append(opts, client.InNamespace(ns))
	}
	return c.List(ctx, list, opts...)
}

func newPluginStatusCommand(f *pluginFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status CAMPAIGN",
		Short: "A campaign's schedule and conditions, and one row per city: screening, draws, cases",
		Long: `Prints the Campaign's current phase, next transition and Ready condition,
then one row per city: its ScreeningJob's state, lines, findings, amount at
risk and flagged institutions, the recheck and fly-check draws' counts, and
the city's cases (counts and sums from the Campaign's status). ScreeningJobs
and samples are read in the cities' namespaces: a city the reader may not
read shows "-".`,
		Example: `  kubectl flycheck status jiangsu-2020`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.kube.client()
			if err != nil {
				return err
			}
			return printStatus(cmd.Context(), c, args[0], cmd.OutOrStdout())
		},
	}
}

func printStatus(ctx context.Context, c client.Client, name string, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var camp flycheckv1.Campaign
	if err := c.Get(ctx, client.ObjectKey{Name: name}, &camp); err != nil {
		return fmt.Errorf("reading Campaign %s: %w", name, err)
	}
	title := camp.Name
	if camp.Spec.DisplayName != "" {
		title += " (" + camp.Spec.DisplayName + ")"
	}
	fmt.Fprintf(out, "Campaign %s\n", title)
	phase, next := camp.Status.CurrentPhase, camp.Status.NextTransition
	if phase == "" {
		phase = "-"
	}
	if next == "" {
		next = "-"
	}
	fmt.Fprintf(out, "Phase: %s   Next transition: %s   Time zone: %s\n", phase, next, camp.Spec.TimeZone)
	if r := meta.FindStatusCondition(camp.Status.Conditions, flycheckv1.ConditionReady); r != nil {
		fmt.Fprintf(out, "Ready: %s (%s) %s\n", r.Status, r.Reason, r.Message)
	} else {
		fmt.Fprintln(out, "Ready: the operator has not reported yet")
	}
	if s := meta.FindStatusCondition(camp.Status.Conditions, flycheckv1.ConditionStalled); s != nil && s.Status == "True" {
		fmt.Fprintf(out, "Stalled: %s %s\n", s.Reason, s.Message)
	}
	// Per city namespace: a bureau may read its own namespace only.
	var sjs []flycheckv1.ScreeningJob
	var samples []flycheckv1.InspectionSample
	namespaces := []string{}
	for _, city := range camp.Spec.Cities {
		if !slices.Contains(namespaces, city.Namespace) {
			namespaces = append(namespaces, city.Namespace)
		}
	}
	if p := camp.Spec.ProvinceNamespace; p != "" && !slices.Contains(namespaces, p) {
		namespaces = append(namespaces, p)
	}
	sel := client.MatchingLabels{flycheckv1.LabelCampaign: camp.Name}
	for _, ns := range namespaces {
		var sl flycheckv1.ScreeningJobList
		if err := c.List(ctx, &sl, client.InNamespace(ns), sel); err == nil {
			sjs = append(sjs, sl.Items...)
		} else if !apierrors.IsForbidden(err) {
			return err
		}
		var il flycheckv1.InspectionSampleList
		if err := c.List(ctx, &il, client.InNamespace(ns), sel); err == nil {
			samples = append(samples, il.Items...)
		} else if !apierrors.IsForbidden(err) {
			return err
		}
	}
	fmt.Fprintln(out)
	return campaignview.WriteCityTable(out, &camp, sjs, samples)
}

func newPluginSamplesCommand(f *pluginFlags) *cobra.Command {
	var campaign string
	cmd := &cobra.Command{
		Use:     "samples [--campaign NAME]",
		Short:   "InspectionSamples with their counts (never which institutions: that is `kubectl get isample NAME -o yaml`)",
		Example: "  kubectl flycheck samples -n nanjing\n  kubectl flycheck samples -A --campaign jiangsu-2020",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.kube.client()
			if err != nil {
				return err
			}
			var list flycheckv1.InspectionSampleList
			if err := f.list(cmdContext(cmd), c, campaign, &list); err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAMESPACE\tNAME\tCAMPAIGN\tPURPOSE\tFRAME\tSELECTED\tTERTIARY\tSHORTFALLS\tDRAWN AT\tREADY")
			for _, s := range list.Items {
				frame, sel, ter, drawn := "-", "-", "-", "-"
				if s.Status.Frame != nil {
					frame = fmt.Sprintf("%d (%d tertiary)", s.Status.Frame.Size, s.Status.Frame.Tertiary)
				}
				if s.Status.Counts != nil {
					sel, ter = fmt.Sprint(s.Status.Counts.Selected), fmt.Sprint(s.Status.Counts.Tertiary)
				}
				if s.Status.DrawnAt != nil {
					drawn = s.Status.DrawnAt.UTC().Format("2006-01-02 15:04:05Z")
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Namespace, s.Name, campaignOf(s.Spec.CampaignRef), s.Spec.Purpose,
					frame, sel, ter, len(s.Status.Shortfalls), drawn, readyOf(s.Status.Conditions))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&campaign, "campaign", "", "only this campaign's samples")
	return cmd
}

func newPluginCasesCommand(f *pluginFlags) *cobra.Command {
	var campaign string
	var overdueOnly bool
	cmd := &cobra.Command{
		Use:     "cases [--campaign NAME] [--overdue]",
		Short:   "InspectionCases: stage, amounts found and recovered, overdue deadlines",
		Example: "  kubectl flycheck cases -n nanjing --campaign jiangsu-2020\n  kubectl flycheck cases -A --overdue",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.kube.client()
			if err != nil {
				return err
			}
			var list flycheckv1.InspectionCaseList
			if err := f.list(cmdContext(cmd), c, campaign, &list); err != nil {
				return err
			}
			zones := campaignZones{}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			// The institution's name comes last (wide characters).
			fmt.Fprintln(w, "NAMESPACE\tNAME\tCODE\tSTAGE\tFOUND (¥)\tRECOVERED (¥)\tOVERDUE\tNEXT DEADLINE\tINSTITUTION")
			for _, ic := range list.Items {
				overdue := meta.IsStatusConditionTrue(ic.Status.Conditions, flycheckv1.ConditionOverdue)
				if overdueOnly && !overdue {
					continue
				}
				found, recovered := "-", "-"
				if a := ic.Status.Amounts; a != nil {
					found, recovered = orDash(string(a.Found)), orDash(string(a.Recovered))
				}
				next := "-"
				for _, d := range ic.Status.Deadlines {
					if d.State == "Pending" {
						next = d.Name + " " + d.Due.In(zones.of(cmdContext(cmd), c, ic.Spec.CampaignRef)).Format("2006-01-02 15:04 -07:00")
						break
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%t\t%s\t%s\n", ic.Namespace, ic.Name, ic.Spec.Institution.Code, orDash(string(ic.Status.Stage)),
					found, recovered, overdue, next, ic.Spec.Institution.Name)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&campaign, "campaign", "", "only this campaign's cases")
	cmd.Flags().BoolVar(&overdueOnly, "overdue", false, "only cases with a deadline passed and not met")
	return cmd
}

func newPluginVerifyCommand(f *pluginFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "verify [NAMESPACE/]SAMPLE",
		Short: "Re-derive an InspectionSample's draw from its frame and seed: prints match, or the first difference",
		Long: `The same check as 'flycheck sample verify --from-cluster': reads the
InspectionSample and the frame its draw was made from, redraws with the
recorded seed and policy, and compares. Exit status 1 when they differ.`,
		Example: "  kubectl flycheck verify -n nanjing jiangsu-2020-spotcheck-nanjing\n  kubectl flycheck verify jiangsu-province/jiangsu-2020-flycheck",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			if !strings.Contains(ref, "/") {
				ns, err := f.kube.namespace(f.namespace)
				if err != nil {
					return err
				}
				if ns == "" {
					ns = "default"
				}
				ref = ns + "/" + ref
			}
			frame, rec, err := readFromCluster(cmdContext(cmd), cmd.ErrOrStderr(), f.kube, ref, nil)
			if err != nil {
				return err
			}
			if rec.Policy == nil {
				return fmt.Errorf("InspectionSample %s records no policy", ref)
			}
			return runVerify(cmd.OutOrStdout(), cmd.ErrOrStderr(), verifyInput{Frame: frame, Policy: *rec.Policy, Recorded: rec})
		},
	}
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func campaignOf(ref *flycheckv1.CampaignReference) string {
	if ref == nil {
		return "-"
	}
	return ref.Name
}

func readyOf(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, flycheckv1.ConditionReady); c != nil {
		return string(c.Status) + " " + c.Reason
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// campaignZones caches each campaign's time zone: deadlines read in local
// time, like the NEXT TRANSITION column. A campaign the reader cannot get
// gives the default zone.
type campaignZones map[string]*time.Location

func (z campaignZones) of(ctx context.Context, c client.Client, ref *flycheckv1.CampaignReference) *time.Location {
	name := ""
	if ref != nil {
		name = ref.Name
	}
	if loc, ok := z[name]; ok {
		return loc
	}
	tz := ""
	var camp flycheckv1.Campaign
	if name != "" && c.Get(ctx, client.ObjectKey{Name: name}, &camp) == nil {
		tz = camp.Spec.TimeZone
	}
	loc, err := schedule.LoadLocation(tz)
	if err != nil {
		loc, _ = schedule.LoadLocation("")
	}
	z[name] = loc
	return loc
}
