package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// RuleSetReconciler checks what the schema cannot: that every rule has the
// parameters its template needs. A RuleSet with a bad rule is Ready=False
// with every bad rule named; ScreeningJobs refuse to run it.
type RuleSetReconciler struct {
	client.Client
	Clock    clock.PassiveClock
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=rulesets,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=rulesets/status,verbs=get;update;patch

func (r *RuleSetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var rs flycheckv1.RuleSet
	if ok, err := fetch(ctx, r.Client, req, &rs); !ok {
		return ctrl.Result{}, err
	}
	status := rs.Status.DeepCopy()
	status.ObservedGeneration = rs.Generation
	status.Rules = int32(len(rs.Spec.Rules))
	spec, err := json.Marshal(rs.Spec)
	if err != nil {
		return ctrl.Result{}, err
	}
	sum := sha256.Sum256(spec)
	status.Digest = hex.EncodeToString(sum[:])
	conds := newConditionSetter(&status.Conditions, rs.Generation, r.Clock.Now())
	var notes []note
	if err := rules.Validate(rs.Spec.Rules); err != nil {
		conds.stalled(RuleSetReasonInvalid, err.Error())
		if conditionReason(rs.Status.Conditions, flycheckv1.ConditionStalled) != RuleSetReasonInvalid {
			notes = append(notes, note{corev1.EventTypeWarning, RuleSetReasonInvalid, "Validate", err.Error()})
		}
	} else {
		conds.ready(RuleSetReasonValid, fmt.Sprintf("%d rules valid", len(rs.Spec.Rules)))
	}
	_, err = writeStatus(ctx, r.Client, r.Recorder, &rs, &rs.Status, status, notes...)
	return settle(ctx, r.Client, r.Clock, &rs, ctrl.Result{}, err)
}

func (r *RuleSetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.RuleSet{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("ruleset").
		Complete(r)
}
