package controllers

import (
	"context"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// TipOffReconciler keeps each tip-off's status a function of its spec and
// the clock: the feedback and closing deadlines in working days, the
// Overdue condition from the exact due instant (it sleeps until then and
// polls nothing), and the reward. When a tip-off with a subject institution
// is accepted, it opens that institution's InspectionCase (or adds the
// origin TipOff to it) as the case opener does, carrying the institution
// only.
//
// It never reads the identity Secret (it has no right to: the manager's
// role grants no get on Secrets outside its own namespace) and writes
// nothing of the reporter anywhere: statuses, events and log lines carry
// names of objects, dates, amounts and states.
type TipOffReconciler struct {
	client.Client
	// APIReader re-reads a case after a write conflict.
	APIReader client.Reader
	Clock     clock.PassiveClock
	Recorder  events.EventRecorder
	Holidays  *HolidayCalendar
}

// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=tipoffs,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=tipoffs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectioncases,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectioncases/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *TipOffReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var to flycheckv1.TipOff
	if ok, err := fetch(ctx, r.Client, req, &to); !ok {
		return ctrl.Result{}, err
	}
	return finish(r.reconcile(ctx, &to))
}

func (r *TipOffReconciler) evaluator() caseEvaluator {
	return caseEvaluator{Client: r.Client, APIReader: r.APIReader, Recorder: r.Recorder, Holidays: r.Holidays}
}

func (r *TipOffReconciler) reconcile(ctx context.Context, to *flycheckv1.TipOff) (ctrl.Result, error) {
	now := r.Clock.Now()
	ev := r.evaluator()
	camp, err := ev.campaignOf(ctx, to.Spec.CampaignRef)
	if err != nil {
		return ctrl.Result{}, err
	}
	cal, calErr := r.Holidays.Get(ctx)
	if cal == nil && calErr != nil {
		return ctrl.Result{}, calErr // the API server did not answer
	}
	campaignMissing := to.Spec.CampaignRef != nil && camp == nil

	var notes []note
	var problem *stallError
	caseRef := to.Status.Case
	// A case is opened once: one deleted afterwards is not brought back.
	if caseRef == "" && to.Spec.AcceptedAt != "" && to.Spec.Subject.InstitutionCode != "" && !campaignMissing {
		ref, n, err := r.openCase(ctx, to, camp, now)
		switch {
		case asStall(err, &problem):
		case err != nil:
			return ctrl.Result{}, err
		default:
			caseRef = ref
			notes = append(notes, n)
		}
	}

	st, next := desiredTipOffStatus(to, tipOffContext{campaign: camp, calendar: cal, calendarErr: calErr, caseRef: caseRef, now: now})
	conds := newConditionSetter(&st.Conditions, to.Generation, now)
	switch {
	case problem != nil:
		conds.stalled(problem.reason, problem.msg)
	case campaignMissing:
		conds.progressing(TipOffReasonCampaignNotFound, fmt.Sprintf(
			"Campaign %s does not exist; the tip-off's case opens in it once it does", to.Spec.CampaignRef.Name))
	}
	notes = append(notes, tipOffNotes(to, st)...)
	if problem != nil && conditionReason(to.Status.Conditions, flycheckv1.ConditionStalled) != problem.reason {
		notes = append(notes, note{corev1.EventTypeWarning, problem.reason, "OpenCase", problem.msg})
	}
	if _, err := writeStatus(ctx, r.Client, r.Recorder, to, &to.Status, st, notes...); err != nil {
		return ctrl.Result{}, err
	}
	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	logf.FromContext(ctx).V(1).Info("waiting for the next deadline", "at", next)
	return ctrl.Result{RequeueAfter: next.Sub(now) + requeuePad}, nil
}

// openCase opens the subject institution's case in the tip-off's
// namespace, in the tip-off's campaign (or the institution's standing case
// outside campaigns), with the origin TipOff naming the tip-off. The seed
// holds the institution as the bureau recorded it, and nothing else.
func (r *TipOffReconciler) openCase(ctx context.Context, to *flycheckv1.TipOff, camp *flycheckv1.Campaign, now time.Time) (string, note, error) {
	subj := to.Spec.Subject
	seed := caseSeed{namespace: to.Namespace,
		institution: flycheckv1.CaseInstitution{Code: subj.InstitutionCode, Name: subj.InstitutionName, CityCode: subj.CityCode},
		origin:      flycheckv1.CaseOrigin{Type: flycheckv1.OriginTipOff, TipOff: to.Name, At: *timePtr(now)}}
	if camp != nil {
		for _, c := range camp.Spec.Cities {
			if c.Namespace == to.Namespace {
				seed.city = c.Name
			}
		}
	}
	ref := to.Namespace + "/" + caseNameFor(camp, subj.InstitutionCode)
	outcome, err := r.evaluator().openCase(ctx, camp, seed, now)
	if apierrors.IsInvalid(err) {
		// The case refuses another origin (it holds as many as it may): no
		// retry will change that.
		return "", note{}, &stallError{TipOffReasonCaseFull, fmt.Sprintf(
			"cannot add this tip-off to InspectionCase %s: %v", ref, err)}
	}
	if err != nil {
		return "", note{}, err
	}
	n := note{corev1.EventTypeNormal, TipOffReasonCaseOpened, "OpenCase",
		fmt.Sprintf("Opened InspectionCase %s for institution %s (origin TipOff)", ref, subj.InstitutionCode)}
	switch outcome {
	case caseNameTaken:
		return "", note{}, &stallError{TipOffReasonCaseNameTaken, fmt.Sprintf(
			"cannot open the case: %s holds another institution's or campaign's case", ref)}
	case caseOriginAdded:
		n.reason, n.msg = TipOffReasonCaseJoined, fmt.Sprintf("Added the origin TipOff to InspectionCase %s of institution %s", ref, subj.InstitutionCode)
	case caseUnchanged: // opened or joined by a reconcile whose status write was lost
		n.reason, n.msg = TipOffReasonCaseJoined, fmt.Sprintf("InspectionCase %s of institution %s already records this tip-off", ref, subj.InstitutionCode)
	}
	return ref, n, nil
}

// tipOffNotes are the events of a status change: each deadline set, met or
// missed; the reward decided or changed; the reward paid.
func tipOffNotes(to *flycheckv1.TipOff, st *flycheckv1.TipOffStatus) []note {
	var out []note
	old := map[string]flycheckv1.CaseDeadline{}
	for _, d := range to.Status.Deadlines {
		old[d.Name] = d
	}
	for _, d := range st.Deadlines {
		was, ok := old[d.Name]
		if ok && was.State == d.State && was.Due.Equal(&d.Due) {
			continue
		}
		due := d.Due.UTC().Format(time.RFC3339)
		switch d.State {
		case flycheckv1.DeadlineState("Pending"):
			out = append(out, note{corev1.EventTypeNormal, TipOffReasonDeadlineSet, "Evaluate",
				fmt.Sprintf("%s due at %s", d.Name, due)})
		case flycheckv1.DeadlineState("Met"):
			out = append(out, note{corev1.EventTypeNormal, TipOffReasonDeadlineMet, "Evaluate",
				fmt.Sprintf("%s done before its due instant %s", d.Name, due)})
		case flycheckv1.DeadlineState("Missed"):
			out = append(out, note{corev1.EventTypeWarning, TipOffReasonDeadlineMissed, "Evaluate",
				fmt.Sprintf("%s was due at %s", d.Name, due)})
		}
	}
	if rw := st.Reward; rw != nil {
		was := to.Status.Reward
		if was == nil || was.State != rw.State || was.Amount != rw.Amount || was.RatePercent != rw.RatePercent ||
			fmt.Sprint(was.Reasons) != fmt.Sprint(rw.Reasons) {
			out = append(out, note{corev1.EventTypeNormal, TipOffReasonRewardDecided, "Reward", "Reward " + rewardSummary(rw)})
		}
		if rw.PaidAt != nil && (was == nil || was.PaidAt == nil) {
			out = append(out, note{corev1.EventTypeNormal, TipOffReasonRewardPaid, "Reward",
				fmt.Sprintf("Reward paid on %s", rw.PaidAt.UTC().Format(time.RFC3339))})
		}
	}
	return out
}

// SetupWithManager registers the controller. A tip-off is reconciled when
// its spec changes, at its next due instant, when the Campaign it names
// appears or changes (its time zone), and when the holiday ConfigMap
// changes.
func (r *TipOffReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.TipOff{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&flycheckv1.Campaign{}, handler.EnqueueRequestsFromMapFunc(r.tipOffsOfCampaign),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.allTipOffs),
			builder.WithPredicates(predicate.NewPredicateFuncs(r.Holidays.isHolidayConfigMap))).
		Named("tipoff").
		Complete(r)
}

// tipOffsOfCampaign: the tip-offs naming the campaign. A bureau records
// dozens a year, so the cache is filtered here rather than indexed (the
// index belongs to the Campaign reconciler, which may run alone in tests).
func (r *TipOffReconciler) tipOffsOfCampaign(ctx context.Context, o client.Object) []reconcile.Request {
	var list flycheckv1.TipOffList
	if err := r.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "listing tip-offs")
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if ref := list.Items[i].Spec.CampaignRef; ref != nil && ref.Name == o.GetName() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// allTipOffs: a new holiday calendar can move every deadline.
func (r *TipOffReconciler) allTipOffs(ctx context.Context, _ client.Object) []reconcile.Request {
	r.Holidays.Invalidate()
	var list flycheckv1.TipOffList
	if err := r.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "listing tip-offs")
		return nil
	}
	return requestsFor(list.Items)
}
