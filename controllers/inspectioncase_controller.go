package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// InspectionCaseReconciler keeps each case's status a function of its spec,
// its origins and the clock: stage, amounts, flags, deadlines and the
// Overdue condition. It sleeps until the next due instant (like the
// Campaign until its next phase boundary) and polls nothing. It also
// carries out hand-offs: a province fly-check case with spec.handOff opens
// the institution's case in its city's namespace.
//
// Cases are opened by CaseOpenerReconciler (a campaign's phases) and by
// the hand-off here; people may also create them by hand (tip-offs,
// ad-hoc cases).
type InspectionCaseReconciler struct {
	client.Client
	// APIReader reads the holiday ConfigMap and re-reads a case after a
	// write conflict.
	APIReader client.Reader
	Clock     clock.PassiveClock
	Recorder  events.EventRecorder
	Holidays  *HolidayCalendar
}

// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectioncases,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectioncases/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *InspectionCaseReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ic flycheckv1.InspectionCase
	if ok, err := fetch(ctx, r.Client, req, &ic); !ok {
		return ctrl.Result{}, err
	}
	return finish(r.reconcile(ctx, &ic))
}

func (r *InspectionCaseReconciler) evaluator() caseEvaluator {
	return caseEvaluator{Client: r.Client, APIReader: r.APIReader, Recorder: r.Recorder, Holidays: r.Holidays}
}

func (r *InspectionCaseReconciler) reconcile(ctx context.Context, stored *flycheckv1.InspectionCase) (ctrl.Result, error) {
	ic := stored
	if openedByOperator(ic) && len(ic.Status.Origins) == 0 {
		return ctrl.Result{}, nil // its opener writes the first status
	}
	now := r.Clock.Now()
	ev := r.evaluator()
	camp, err := ev.campaignOf(ctx, ic.Spec.CampaignRef)
	if err != nil {
		return ctrl.Result{}, err
	}
	var notes []note
	var problem *stallError
	if ic.Spec.HandOff && camp != nil && ic.Namespace == camp.Spec.ProvinceNamespace &&
		(ic.Status.HandOff == nil || ic.Status.HandOff.At == nil) {
		rec, n, err := r.handOff(ctx, camp, ic, now)
		switch {
		case asStall(err, &problem):
		case err != nil:
			return ctrl.Result{}, err
		default:
			// The record goes into status through the case's context;
			// the write is made against the stored object.
			ic = ic.DeepCopy()
			ic.Status.HandOff = rec
			notes = append(notes, n)
		}
	}
	cc, err := ev.context(ctx, ic, camp, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	st, next := desiredCaseStatus(ic, cc)
	conds := newConditionSetter(&st.Conditions, ic.Generation, now)
	switch {
	case problem != nil:
		conds.stalled(problem.reason, problem.msg)
	case ic.Spec.CampaignRef != nil && camp == nil:
		conds.progressing(CaseReasonCampaignNotFound, fmt.Sprintf("Campaign %s does not exist; deadlines of its phases cannot be computed", ic.Spec.CampaignRef.Name))
	}
	notes = append(notes, caseNotes(stored, st)...)
	if _, err := writeStatus(ctx, r.Client, r.Recorder, stored, &stored.Status, st, notes...); err != nil {
		return ctrl.Result{}, err
	}
	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	logf.FromContext(ctx).V(1).Info("waiting for the next deadline", "at", next)
	return ctrl.Result{RequeueAfter: next.Sub(now) + requeuePad}, nil
}

// caseNotes are the events of a status change: the stage moving, a
// deadline passing unmet.
func caseNotes(ic *flycheckv1.InspectionCase, st *flycheckv1.InspectionCaseStatus) []note {
	var out []note
	if ic.Status.Stage != "" && st.Stage != ic.Status.Stage {
		out = append(out, note{corev1.EventTypeNormal, CaseReasonStageChanged, "Evaluate",
			fmt.Sprintf("Stage %s → %s", ic.Status.Stage, st.Stage)})
	}
	was := conditionReason(ic.Status.Conditions, flycheckv1.ConditionOverdue)
	if now := conditionReason(st.Conditions, flycheckv1.ConditionOverdue); now == CaseReasonDeadlineMissed && was != now {
		for _, c := range st.Conditions {
			if c.Type == flycheckv1.ConditionOverdue {
				out = append(out, note{corev1.EventTypeWarning, CaseReasonDeadlineMissed, "Evaluate", c.Message})
			}
		}
	}
	return out
}

// handOff opens the province case's institution case in its city's
// namespace, with the fly-check origin and the province's findings and
// decision (the city case's status reads them from this case). It is done
// once: status.handOff.at records it, so a city case deleted afterwards is
// not brought back.
func (r *InspectionCaseReconciler) handOff(ctx context.Context, camp *flycheckv1.Campaign, ic *flycheckv1.InspectionCase, now time.Time) (*flycheckv1.CaseHandOff, note, error) {
	city, ok := cityByCode(camp, ic.Spec.Institution.CityCode)
	if !ok {
		return nil, note{}, &stallError{CaseReasonCityNotInCampaign, fmt.Sprintf(
			"cannot hand off: campaign %s has no city with code %s", camp.Name, ic.Spec.Institution.CityCode)}
	}
	origin := flycheckv1.CaseOrigin{Type: flycheckv1.OriginFlyCheck, HandedOffFrom: ic.Namespace + "/" + ic.Name, At: *timePtr(now)}
	for _, o := range ic.Status.Origins {
		if o.Type == flycheckv1.OriginFlyCheck {
			origin.Phase, origin.Sample, origin.Reason = o.Phase, o.Sample, o.Reason
		}
	}
	seed := caseSeed{namespace: city.Namespace, city: city.Name, institution: ic.Spec.Institution, origin: origin}
	outcome, err := r.evaluator().openCase(ctx, camp, seed, now)
	if err != nil {
		return nil, note{}, err
	}
	to := city.Namespace + "/" + CaseName(camp.Name, ic.Spec.Institution.Code)
	if outcome == caseNameTaken {
		return nil, note{}, &stallError{CaseReasonCaseNameTaken, fmt.Sprintf(
			"cannot hand off: %s holds another institution's or campaign's case", to)}
	}
	return &flycheckv1.CaseHandOff{To: to, At: timePtr(now)},
		note{corev1.EventTypeNormal, CaseReasonHandedOff, "HandOff", fmt.Sprintf("Handed off to %s (%s)", to, city.Name)}, nil
}

func cityByCode(camp *flycheckv1.Campaign, code string) (flycheckv1.City, bool) {
	for _, c := range camp.Spec.Cities {
		if c.Code == code {
			return c, true
		}
	}
	return flycheckv1.City{}, false
}

// SetupWithManager registers the controller. A case is reconciled when its
// spec changes or an origin is added (other status writes do not wake it),
// at its next due instant,
// when a related case changes (the province case it was handed off from;
// an earlier campaign's case of the same institution), when its Campaign's
// spec changes (phase dates), and when the holiday ConfigMap changes.
func (r *InspectionCaseReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := indexFields(mgr.GetFieldIndexer(), caseInstitutionIndex, caseCalendarIndex); err != nil {
		return err
	}
	// The opener's first status write (the origins) matters too: from it on
	// the case has deadlines to wake up for.
	originsChanged := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*flycheckv1.InspectionCase), e.ObjectNew.(*flycheckv1.InspectionCase)
		return len(o.Status.Origins) != len(n.Status.Origins)
	}}
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.InspectionCase{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, originsChanged))).
		Watches(&flycheckv1.InspectionCase{}, handler.EnqueueRequestsFromMapFunc(r.relatedCases),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&flycheckv1.Campaign{}, handler.EnqueueRequestsFromMapFunc(r.casesOfCampaign),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.casesUsingCalendar),
			builder.WithPredicates(predicate.NewPredicateFuncs(r.Holidays.isHolidayConfigMap))).
		Named("inspectioncase").
		Complete(r)
}

// relatedCases: the city case a province case was handed off to, and the
// institution's cases of other campaigns in the namespace (whose
// repeat-offender flag this case's decision can change).
func (r *InspectionCaseReconciler) relatedCases(ctx context.Context, o client.Object) []reconcile.Request {
	ic := o.(*flycheckv1.InspectionCase)
	var out []reconcile.Request
	if ic.Status.HandOff != nil && ic.Status.HandOff.To != "" {
		if ns, name, ok := cutKey(ic.Status.HandOff.To); ok {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
		}
	}
	var list flycheckv1.InspectionCaseList
	if err := r.List(ctx, &list, client.InNamespace(ic.Namespace),
		client.MatchingFields{caseInstitutionIndex: ic.Spec.Institution.Code}); err != nil {
		logf.FromContext(ctx).Error(err, "listing an institution's cases")
		return out
	}
	for i := range list.Items {
		if list.Items[i].Name != ic.Name {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

func (r *InspectionCaseReconciler) casesOfCampaign(ctx context.Context, o client.Object) []reconcile.Request {
	var cases flycheckv1.InspectionCaseList
	if err := r.List(ctx, &cases, client.MatchingLabels{flycheckv1.LabelCampaign: o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "listing a campaign's cases")
		return nil
	}
	return requestsFor(cases.Items)
}

func (r *InspectionCaseReconciler) casesUsingCalendar(ctx context.Context, _ client.Object) []reconcile.Request {
	r.Holidays.Invalidate()
	var list flycheckv1.InspectionCaseList
	if err := r.List(ctx, &list, client.MatchingFields{caseCalendarIndex: "yes"}, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "listing the cases that use the calendar")
		return nil
	}
	return requestsFor(list.Items)
}
