package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/internal/report"
)

type reportFlags struct {
	kube     kubeFlags
	campaign string
	city     string
	from     string
	format   string
	output   string
}

func newReportCommand() *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report (--campaign NAME [--city NAME] | --from report.json) [--format html|xlsx|json] [--output FILE]",
		Short: "A campaign's report (plan, milestone progress, cards, findings, amounts) as HTML, xlsx or JSON",
		Long: `Renders the report the operator writes weekly and at the summary: from the
cluster (the Campaign's status and its InspectionCases, now) for the
province or one city, or from a report.json (for example one taken from a
snapshot ConfigMap). HTML is one self-contained page with SVG charts; xlsx
has the sheets 工作计划, 节点进度, 红黄牌, 问题类型 and 金额统计; JSON is
report.json.`,
		Example: `  flycheck report --campaign jiangsu-2020 --format html --output jiangsu.html
  flycheck report --campaign jiangsu-2020 --city nanjing --format xlsx --output nanjing.xlsx
  kubectl get cm -n jiangsu-province jiangsu-2020-summary-province -o jsonpath='{.data.report\.json}' > r.json
  flycheck report --from r.json --format xlsx --output summary.xlsx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReport(cmd.Context(), cmd.OutOrStdout(), f, nil)
		},
	}
	cmd.Flags().StringVar(&f.campaign, "campaign", "", "the Campaign to report on, from the cluster")
	cmd.Flags().StringVar(&f.city, "city", "", "one city's report (its own figures only); default: the province's")
	cmd.Flags().StringVar(&f.from, "from", "", "a report.json to render instead of reading the cluster")
	cmd.Flags().StringVar(&f.format, "format", "html", "html, xlsx or json")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "file to write (default: standard output; required for xlsx)")
	f.kube.bind(cmd)
	return cmd
}

// runReport renders the report; c, when not nil, is the cluster client
// (tests), else one is made from the kubeconfig.
func runReport(ctx context.Context, out io.Writer, f reportFlags, c client.Client) error {
	if (f.campaign == "") == (f.from == "") {
		return fmt.Errorf("give --campaign (from the cluster) or --from report.json, not both")
	}
	if f.from != "" && f.city != "" {
		return fmt.Errorf("--city selects from the cluster; a report.json already has its scope")
	}
	if f.format != "html" && f.format != "xlsx" && f.format != "json" {
		return fmt.Errorf("--format %q: want html, xlsx or json", f.format)
	}
	if f.format == "xlsx" && f.output == "" {
		return fmt.Errorf("--output is required for xlsx")
	}
	var rep *report.Report
	if f.from != "" {
		b, err := os.ReadFile(f.from)
		if err != nil {
			return err
		}
		if rep, err = report.Parse(b); err != nil {
			return err
		}
	} else {
		if c == nil {
			var err error
			if c, err = f.kube.client(); err != nil {
				return err
			}
		}
		var camp flycheckv1.Campaign
		if err := c.Get(ctx, types.NamespacedName{Name: f.campaign}, &camp); err != nil {
			return err
		}
		var err error
		if rep, err = controllers.CampaignReport(ctx, c, &camp, f.city, time.Now()); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	var err error
	switch f.format {
	case "json":
		var b []byte
		b, err = rep.JSON()
		buf.Write(b)
	case "html":
		var b []byte
		b, err = report.HTML(rep)
		buf.Write(b)
	case "xlsx":
		err = report.XLSX(&buf, rep)
	}
	if err != nil {
		return err
	}
	if f.output == "" {
		_, err = out.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(f.output, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote the %s report of %s (%s) to %s\n", f.format, rep.Campaign, rep.Scope, f.output)
	return nil
}
