package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/roster"
	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// Roster ConfigMaps written by `flycheck roster import`.
const (
	rosterFieldManager = "flycheck-roster-import"
	// rosterInlineLimit: a larger frame goes gzip-compressed into
	// binaryData (a ConfigMap holds at most 1 MiB).
	rosterInlineLimit = 768 << 10
	annotRosterSource = "flycheck.medfund.io/roster-source"
	annotFrameDigest  = "flycheck.medfund.io/frame-digest"
)

// newRosterCommand groups the roster tools: `import`.
func newRosterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "roster",
		Short: "Rosters of designated institutions (定点医药机构名单), the sampling frame without screening",
	}
	cmd.AddCommand(newRosterImportCommand())
	return cmd
}

func newRosterImportCommand() *cobra.Command {
	var (
		namespace, name, sheet, encoding, output string
		columns                                  columnFlags
		kube                                     kubeFlags
	)
	cmd := &cobra.Command{
		Use:   "import FILE.xlsx|FILE.csv --namespace NS [--name roster]",
		Short: "Turn a bureau's institution list into the roster ConfigMap an InspectionSample draws from",
		Long: `Import reads a list of designated institutions — a spreadsheet (.xlsx, the
first sheet or --sheet) or a CSV file (encoding detected, or --encoding) —
and applies (server-side) the roster ConfigMap NAME in NAMESPACE that a
Campaign's spec.roster or an InspectionSample's frames name: the frame CSV
of docs/data-format.md under the key frame.csv, risk 0.

The columns are the claims extract's institutions columns — fixmedins_code,
fixmedins_name, admdvs, hosp_lv, and optionally ownership and
fixmedins_type — matched with the screener's column mapping (--columns,
--column-profile, --column; e.g. --column-profile zh for Chinese headers).
The header may follow a few title rows. hosp_lv is 0–3 or the grade as
written (三级甲等 3, 二级… 2, 一级… 1, 未定级 0). Codes are normalised as the
screener normalises them. Any row that cannot be read is reported with
its row number and nothing is applied.

With -o yaml the ConfigMap is printed instead of applied (for Git).`,
		Example: `  flycheck roster import 南京市定点医药机构名单.xlsx --namespace nanjing --column-profile zh
  flycheck roster import roster.csv --namespace wuxi --name roster-2024 --column institutions.city_code=admdvs
  flycheck roster import roster.xlsx --namespace nanjing --column-profile zh -o yaml > roster.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if namespace == "" {
				return fmt.Errorf("--namespace is required")
			}
			if output != "" && output != "yaml" {
				return fmt.Errorf("-o %q: only yaml (print instead of applying)", output)
			}
			cols, err := columns.resolve()
			if err != nil {
				return err
			}
			enc, err := parseEncoding(encoding)
			if err != nil {
				return err
			}
			res, err := roster.ReadFile(args[0], roster.Options{Columns: cols, Sheet: sheet, Encoding: enc})
			if err != nil {
				return err
			}
			cm, err := rosterConfigMap(namespace, name, filepath.Base(args[0]), res.Frame)
			if err != nil {
				return err
			}
			tertiary := 0
			for _, in := range res.Frame {
				if in.Tertiary() {
					tertiary++
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "read %s: header on row %d, %d institutions (%d tertiary)\n", res.Source, res.HeaderRow, len(res.Frame), tertiary)
			if output == "yaml" {
				data, err := yaml.Marshal(cm)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			c, err := kube.client()
			if err != nil {
				return err
			}
			if err := applyRoster(cmd.Context(), c, cm); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "configmap/%s applied in namespace %s (%d institutions, frame digest %s)\n",
				name, namespace, len(res.Frame), cm.Annotations[annotFrameDigest])
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&namespace, "namespace", "n", "", "namespace of the roster ConfigMap (the city's)")
	f.StringVar(&name, "name", "roster", "name of the roster ConfigMap (the Campaign's spec.roster)")
	f.StringVar(&sheet, "sheet", "", "sheet of a spreadsheet (default: the first)")
	f.StringVar(&encoding, "encoding", "auto", "encoding of a CSV file: auto, UTF-8 or GB18030")
	f.StringVarP(&output, "output", "o", "", "yaml: print the ConfigMap instead of applying it")
	columns.addFlags(f)
	kube.bind(cmd)
	return cmd
}

// rosterConfigMap is the roster as a ConfigMap apply configuration.
func rosterConfigMap(namespace, name, source string, frame []sampling.Institution) (*corev1ac.ConfigMapApplyConfiguration, error) {
	digest, err := sampling.Digest(frame)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := sampling.WriteFrame(&buf, frame); err != nil {
		return nil, err
	}
	cm := corev1ac.ConfigMap(name, namespace).
		WithLabels(map[string]string{"app.kubernetes.io/managed-by": "flycheck", flycheckv1.LabelRole: "roster"}).
		WithAnnotations(map[string]string{annotRosterSource: source, annotFrameDigest: digest})
	if buf.Len() <= rosterInlineLimit {
		cm.WithData(map[string]string{flycheckv1.FrameKey: buf.String()})
	} else {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(buf.Bytes())
		if err := zw.Close(); err != nil {
			return nil, err
		}
		cm.WithBinaryData(map[string][]byte{flycheckv1.FrameKey: z.Bytes()})
	}
	return cm, nil
}

// applyRoster applies the ConfigMap server-side with force: the roster is
// this command's, and a key this manager applied before but not now (data
// after binaryData, or the reverse) is removed by the apply.
func applyRoster(ctx context.Context, c client.Client, cm *corev1ac.ConfigMapApplyConfiguration) error {
	if err := c.Apply(ctx, cm, client.FieldOwner(rosterFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying ConfigMap %s/%s: %w", *cm.Namespace, *cm.Name, err)
	}
	return nil
}

func parseEncoding(s string) (screening.Encoding, error) {
	switch strings.ToUpper(s) {
	case "", "AUTO":
		return screening.EncodingAuto, nil
	case "UTF-8", "UTF8":
		return screening.EncodingUTF8, nil
	case "GB18030":
		return screening.EncodingGB18030, nil
	}
	return "", fmt.Errorf("--encoding %q: expected auto, UTF-8 or GB18030", s)
}
