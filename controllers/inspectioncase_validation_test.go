package controllers

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// TestCaseValidation: the API server rejects what a case must not say,
// with a message naming the rule.
func TestCaseValidation(t *testing.T) {
	ns := "val-cases"
	createNamespace(t, ns)
	ctx := context.Background()
	bad := []struct {
		name   string
		mutate func(*flycheckv1.InspectionCaseSpec)
		want   string
	}{
		{"negative amount", func(s *flycheckv1.InspectionCaseSpec) {
			s.SelfInspection = &flycheckv1.SelfInspection{ReportedAt: "2023-06-01", ConfirmedAmount: "-1"}
		}, "an amount is a decimal string in yuan"},
		{"three decimals", func(s *flycheckv1.InspectionCaseSpec) {
			s.Recoveries = []flycheckv1.Recovery{{Amount: "1.234", At: "2023-06-01"}}
		}, "at most 2 decimals"},
		{"a float", func(s *flycheckv1.InspectionCaseSpec) { s.OnSite = inspected("1e3") }, "an amount is a decimal string"},
		{"one inspector", func(s *flycheckv1.InspectionCaseSpec) {
			s.OnSite = inspected()
			s.OnSite.Inspectors = []string{"张伟"}
		}, "spec.onSite.inspectors"},
		{"on site ends before it starts", func(s *flycheckv1.InspectionCaseSpec) {
			s.OnSite = inspected()
			s.OnSite.From, s.OnSite.To = "2023-07-12", "2023-07-10"
		}, "onSite.from must not be after onSite.to"},
		{"decided before the inspection", func(s *flycheckv1.InspectionCaseSpec) {
			s.OnSite = inspected()
			s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-07-11"}
		}, "the decision cannot come before the on-site inspection"},
		{"a fine of nothing", func(s *flycheckv1.InspectionCaseSpec) {
			s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-08-01", Actions: []flycheckv1.DecisionAction{{Type: flycheckv1.ActionFine}}}
		}, "a Fine needs an amount or a multiple"},
		{"a transfer to nobody", func(s *flycheckv1.InspectionCaseSpec) {
			s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-08-01", Actions: []flycheckv1.DecisionAction{{Type: flycheckv1.ActionTransfer}}}
		}, "a Transfer, and only a Transfer"},
		{"a refund with no amount", func(s *flycheckv1.InspectionCaseSpec) {
			s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-08-01", Actions: []flycheckv1.DecisionAction{{Type: flycheckv1.ActionRefund}}}
		}, "a Refund needs its amount"},
		{"two rectification deadlines", func(s *flycheckv1.InspectionCaseSpec) {
			s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-08-01", RectificationDue: "2023-09-01", RectificationWorkingDays: 10}
		}, "not both"},
		{"rectification due before the decision", func(s *flycheckv1.InspectionCaseSpec) {
			s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-08-01", RectificationDue: "2023-07-01"}
		}, "rectification cannot be due before the decision"},
	}
	for i, b := range bad {
		ic := handCase(ns, "val", "H11010200"+string(rune('a'+i)), b.mutate)
		err := k8sClient.Create(ctx, ic)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want Invalid with %q", b.name, err, b.want)
		}
	}

	// A valid case, then the changes its transition rules forbid.
	ic := handCase(ns, "val", "H110102999", func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = inspected("12.5")
		s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-07-12", RectificationWorkingDays: 15,
			Actions: []flycheckv1.DecisionAction{{Type: flycheckv1.ActionFine, Multiple: 2}, {Type: flycheckv1.ActionTransfer, To: "Police"}}}
	})
	mustCreate(t, ic)
	for _, c := range []struct {
		name   string
		mutate func(*flycheckv1.InspectionCaseSpec)
		want   string
	}{
		{"another institution", func(s *flycheckv1.InspectionCaseSpec) { s.Institution.Code = "H110102998" }, "a case's institution cannot change"},
		{"another campaign", func(s *flycheckv1.InspectionCaseSpec) { s.CampaignRef.Name = "other" }, "a case's campaign cannot change"},
		{"no campaign", func(s *flycheckv1.InspectionCaseSpec) { s.CampaignRef = nil }, "a case's campaign cannot change"},
	} {
		if err := tryUpdateCase(t, ns, ic.Name, c.mutate); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want Invalid with %q", c.name, err, c.want)
		}
	}

	// The Campaign's selfInspection block.
	camp := testCampaign("val-si", []string{ns}, phase("si", "2020-05-01", "2020-06-30"))
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{ReportDue: ptr.To(flycheckv1.Date("2020-06-05")), ReportWithinWorkingDays: 10}
	if err := k8sClient.Create(ctx, camp); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "give reportDue or reportWithinWorkingDays, not both") {
		t.Errorf("two report deadlines: %v", err)
	}
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{}
	camp.Spec.Phases[0].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck}
	if err := k8sClient.Create(ctx, camp); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "opens self-inspection cases or samples") {
		t.Errorf("self-inspection and sampling in one phase: %v", err)
	}
	camp.Spec.Phases[0].Sampling = nil
	createCampaign(t, camp)
	if got := getCampaign(t, camp.Name); got.Spec.Phases[0].SelfInspection.Scope != flycheckv1.ScopeFlagged {
		t.Errorf("default scope %q, want Flagged", got.Spec.Phases[0].SelfInspection.Scope)
	}
}
