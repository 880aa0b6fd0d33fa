package controllers

import (
	"context"
	"reflect"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// TestScreeningJobPassesColumnMapping: spec.source.columns reaches the
// shards' `flycheck screen` arguments, in a fixed order, and reads back as
// the same mapping; the encoding defaults to Auto.
func TestScreeningJobPassesColumnMapping(t *testing.T) {
	ns := "sj-columns"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	sj := testScreeningJob(ns, "columns", 2, dup.Name)
	sj.Spec.Source.Format = flycheckv1.FormatCSV
	sj.Spec.Source.Columns = &flycheckv1.ColumnMapping{Profile: "zh", Tables: map[string]flycheckv1.TableColumns{
		"institutions": {"type": "fixmedins_type", "city_code": "admdvs"},
		"fee_lines":    {"金额": "det_item_fee_sumamt"},
	}}
	if err := k8sClient.Create(context.Background(), sj); err != nil {
		t.Fatal(err)
	}
	if got := getSJ(t, ns, sj.Name).Spec.Source.Encoding; got != flycheckv1.EncodingAuto {
		t.Errorf("encoding defaulted to %q, want Auto", got)
	}
	reconcileSJ(t, newSJReconciler(), ns, sj.Name)
	var job batchv1.Job
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: JobName(sj.Name)}, &job); err != nil {
		t.Fatal(err)
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	joined := strings.Join(args, " ")
	for _, want := range []string{"--format csv --encoding auto",
		"--column-profile zh --column fee_lines.金额=det_item_fee_sumamt --column institutions.city_code=admdvs --column institutions.type=fixmedins_type"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %q lack %q", joined, want)
		}
	}
	// The arguments are what the screener parses into its mapping.
	back := &screening.ColumnMap{}
	for i, a := range args {
		switch a {
		case "--column-profile":
			back.Profile = args[i+1]
		case "--column":
			if err := back.AddEntry(args[i+1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := &screening.ColumnMap{Profile: "zh", Tables: map[string]map[string]string{
		"institutions": {"type": "fixmedins_type", "city_code": "admdvs"}, "fee_lines": {"金额": "det_item_fee_sumamt"}}}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("arguments read back as %+v, want %+v", back, want)
	}
}

// TestColumnMappingValidation: the API server refuses an unknown table,
// documented name or profile.
func TestColumnMappingValidation(t *testing.T) {
	ns := "sj-columns-invalid"
	createNamespace(t, ns)
	for _, c := range []struct {
		name string
		cols flycheckv1.ColumnMapping
		want string
	}{
		{"table", flycheckv1.ColumnMapping{Tables: map[string]flycheckv1.TableColumns{"claims": {"a": "age"}}}, "tables are institutions, visits, fee_lines, diagnoses and persons"},
		{"column", flycheckv1.ColumnMapping{Tables: map[string]flycheckv1.TableColumns{"visits": {"a": "city"}}}, "Unsupported value"},
		{"profile", flycheckv1.ColumnMapping{Profile: "hebei"}, "Unsupported value"},
	} {
		sj := testScreeningJob(ns, "invalid-"+c.name, 1, "x")
		sj.Spec.Source.Columns = &c.cols
		err := k8sClient.Create(context.Background(), sj)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestCampaignDataSourceColumnsReachTheScreeningJobs: a Campaign's
// dataSource.columns is copied into every city's ScreeningJob.
func TestCampaignDataSourceColumnsReachTheScreeningJobs(t *testing.T) {
	createNamespace(t, "columns-nj")
	c := testCampaign("columns", []string{"columns-nj"}, phase("dataanalysis", "2023-04-01", "2023-05-31"))
	cols := &flycheckv1.ColumnMapping{Profile: "national", Tables: map[string]flycheckv1.TableColumns{"institutions": {"type": "fixmedins_type"}}}
	c.Spec.DataSource = &flycheckv1.DataSource{PersistentVolumeClaim: "claims", Path: "extracts/2022", Format: flycheckv1.FormatCSV, Columns: cols}
	c.Spec.Phases[0].Screening = &flycheckv1.PhaseScreening{RuleSets: []string{"jiangsu-2024-duplicate-charge"}}
	createCampaign(t, c)
	r, _ := newTestReconciler(shanghai(t, "2023-04-01 00:00:01"))
	reconcileCampaign(t, r, c.Name)
	var list flycheckv1.ScreeningJobList
	if err := k8sClient.List(context.Background(), &list, client.MatchingLabels{flycheckv1.LabelCampaign: c.Name}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d ScreeningJobs, want 1", len(list.Items))
	}
	if got := list.Items[0].Spec.Source; !reflect.DeepEqual(got.Columns, cols) || got.Encoding != flycheckv1.EncodingAuto {
		t.Errorf("ScreeningJob source %+v (columns %+v), want columns %+v and encoding Auto", got, got.Columns, cols)
	}
}
