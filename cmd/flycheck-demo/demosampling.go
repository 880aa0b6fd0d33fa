package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// printDemoDraws shows what the spot-check and fly-check phases drew: each
// city's recheck with its quota and the reasons of its picks, and the
// province's fly-check list (which only the province can read).
func printDemoDraws(ctx context.Context, c client.Client, camp *flycheckv1.Campaign, out io.Writer) {
	var list flycheckv1.InspectionSampleList
	if err := c.List(ctx, &list, client.MatchingLabels{flycheckv1.LabelCampaign: camp.Name}); err != nil {
		fmt.Fprintln(out, "listing the draws:", err)
		return
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Namespace < list.Items[j].Namespace })
	fmt.Fprintln(out, "\nRecheck draws (抽查复查), one per city:")
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAMESPACE\tCITY\tFRAME\tQUOTA\tSELECTED\tTERTIARY\tBY REASON\tSEED")
	for _, is := range list.Items {
		if is.Spec.Purpose != flycheckv1.PurposeRecheck || is.Status.Counts == nil {
			continue
		}
		for _, city := range is.Status.Counts.ByCity {
			fmt.Fprintf(w, "%s\t%s\t%d (%d tertiary)\t%d\t%d\t%d\t%s\t%s…\n", is.Namespace, city.CityCode, city.Institutions,
				city.TertiaryInFrame, city.Quota, city.Selected, city.Tertiary, reasons(is.Status.Counts.ByReason), is.Status.Seed[:12])
		}
	}
	w.Flush()
	for _, is := range list.Items {
		if is.Spec.Purpose != flycheckv1.PurposeFlyCheck || is.Status.Counts == nil {
			continue
		}
		fmt.Fprintf(out, "\nProvince fly-check list (飞行检查) %s/%s: %d institutions, %d tertiary (%s)\n",
			is.Namespace, is.Name, is.Status.Counts.Selected, is.Status.Counts.Tertiary, reasons(is.Status.Counts.ByReason))
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		// The name goes last: tabwriter cannot align wide (CJK) characters.
		fmt.Fprintln(w, "#\tCODE\tCITY\tLEVEL\tREASON\tRISK\tNAME")
		for i, s := range is.Status.Selected {
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", i+1, s.Code, s.CityCode, s.Level, s.Reason, s.RiskScore, s.Name)
		}
		w.Flush()
	}
}

func reasons(by map[string]int32) string {
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, by[k])
	}
	return strings.Join(parts, ", ")
}

// verifyDemoDraw re-derives one recorded draw from the cluster, as an
// auditor would: `flycheck sample verify --from-cluster NS/NAME`.
func verifyDemoDraw(ctx context.Context, out io.Writer, flycheck, kubeconfig, ref string) {
	fmt.Fprintf(out, "\n$ flycheck sample verify --from-cluster %s\n", ref)
	cmd := exec.CommandContext(ctx, flycheck, "sample", "verify", "--from-cluster", ref, "--kubeconfig", kubeconfig)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(&buf, "error: %v\n", err)
	}
	out.Write(buf.Bytes())
}
