package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	"github.com/medfund/flycheck-operator/internal/schedule"
)

const (
	// requeuePad is added to the wait for the next phase boundary so that the
	// reconcile after the wait sees the boundary as passed, even with clocks
	// that tick a little early.
	requeuePad = 100 * time.Millisecond

	// conflictRetry is the pause before retrying a reconcile whose status
	// write lost a race with a newer version of the object.
	conflictRetry = 50 * time.Millisecond

	// maxTransitionEvents bounds the events written when catching up after
	// downtime (like the CronJob controller's bound on missed starts): beyond
	// it one summary event says how many more transitions were missed.
	maxTransitionEvents = 10
)

// Reasons of the Campaign's conditions and events.
const (
	ReasonOnSchedule       = "OnSchedule"
	ReasonNotStarted       = "NotStarted"
	ReasonFinished         = "Finished"
	ReasonSuspended        = "Suspended"
	ReasonInvalidTimeZone  = "InvalidTimeZone"
	ReasonInvalidSchedule  = "InvalidSchedule"
	ReasonNamespaceMissing = "NamespaceNotFound"
	ReasonUpToDate         = "UpToDate"

	ReasonPhaseStarted      = "PhaseStarted"
	ReasonPhaseCompleted    = "PhaseCompleted"
	ReasonPhaseReopened     = "PhaseReopened"
	ReasonMissedTransitions = "MissedTransitions"
	ReasonNotYetSupported   = "NotYetSupported"
	ReasonCampaignSuspended = "CampaignSuspended"
	ReasonCampaignResumed   = "CampaignResumed"
)

// CampaignReconciler advances a Campaign's phases on schedule. Phase states
// are a pure function of the spec and the clock; the reconciler recomputes
// them, writes status only when it changed, emits one event per transition,
// and sleeps until the next boundary.
type CampaignReconciler struct {
	client.Client
	// APIReader reads ConfigMaps (frames) without caching them: a cache of
	// every ConfigMap in the cluster would hold every frame in memory.
	APIReader client.Reader
	Clock     clock.PassiveClock
	Recorder  events.EventRecorder
}

// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns/finalizers,verbs=update
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=screeningjobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectionsamples,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *CampaignReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	var camp flycheckv1.Campaign
	if err := r.Get(ctx, req.NamespacedName, &camp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !camp.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	now := r.Clock.Now()
	status := camp.Status.DeepCopy()
	status.ObservedGeneration = camp.Generation
	conds := conditionSetter{conds: &status.Conditions, generation: camp.Generation, now: now}

	plan, err := schedule.Parse(camp.Spec.TimeZone, phaseSpecs(camp.Spec.Phases))
	if err != nil {
		// A bad zone or date will not fix itself: stall until the spec changes
		// (which triggers a reconcile) instead of retrying in a loop.
		reason := ReasonInvalidSchedule
		if errors.Is(err, schedule.ErrUnknownTimeZone) {
			reason = ReasonInvalidTimeZone
		}
		conds.stalled(reason, err.Error())
		status.NextTransitionAt = nil
		return ctrl.Result{}, r.writeStatus(ctx, &camp, status, nil, func() {
			r.Recorder.Eventf(&camp, nil, corev1.EventTypeWarning, reason, "Validate", "%s", err.Error())
		})
	}

	missing, err := r.missingNamespaces(ctx, &camp)
	if err != nil {
		return ctrl.Result{}, err
	}

	var transitions []schedule.Transition
	var requeue time.Duration
	if camp.Spec.Suspend {
		freezePhases(status, plan)
		status.NextTransitionAt = nil
	} else {
		transitions = plan.Diff(previousStates(status), now)
		setPhases(status, plan, now)
		if next, ok := plan.NextTransition(now); ok {
			status.NextTransitionAt = timePtr(next)
			requeue = next.Sub(now) + requeuePad
		} else {
			status.NextTransitionAt = nil
		}
	}
	status.CurrentPhase = currentPhase(status)
	setCityRows(status, camp.Spec.Cities)

	// Children are created only while the campaign runs and every
	// namespace it needs exists.
	var launchStall *stallError
	if !camp.Spec.Suspend && len(missing) == 0 {
		err = r.launchPhases(ctx, &camp, status, now)
		if err != nil && !asStall(err, &launchStall) {
			return ctrl.Result{}, err
		}
	}
	if err := r.setCityCounts(ctx, &camp, status); err != nil {
		return ctrl.Result{}, err
	}

	switch {
	case launchStall != nil:
		conds.stalled(launchStall.reason, launchStall.msg)
	case len(missing) > 0:
		conds.stalled(ReasonNamespaceMissing, fmt.Sprintf(
			"namespaces %s do not exist; phases still advance, but nothing is created in the cities until they do",
			strings.Join(missing, ", ")))
	case camp.Spec.Suspend:
		conds.ready(ReasonSuspended, "transitions and child creation are frozen until spec.suspend is cleared")
	default:
		conds.ready(readyReason(plan, now), scheduleMessage(plan, now))
	}

	// Read before the write replaces camp.Status: events speak of changes.
	wasSuspended := conditionReason(camp.Status.Conditions, flycheckv1.ConditionReady) == ReasonSuspended
	wasMissing := conditionReason(camp.Status.Conditions, flycheckv1.ConditionStalled) == ReasonNamespaceMissing
	err = r.writeStatus(ctx, &camp, status, transitions, func() {
		switch {
		case camp.Spec.Suspend && !wasSuspended:
			r.Recorder.Eventf(&camp, nil, corev1.EventTypeNormal, ReasonCampaignSuspended, "Suspend",
				"Transitions frozen at %s", now.Format(time.RFC3339))
		case !camp.Spec.Suspend && wasSuspended:
			r.Recorder.Eventf(&camp, nil, corev1.EventTypeNormal, ReasonCampaignResumed, "Resume",
				"Resumed at %s", now.Format(time.RFC3339))
		}
		if len(missing) > 0 && !wasMissing {
			r.Recorder.Eventf(&camp, nil, corev1.EventTypeWarning, ReasonNamespaceMissing, "Validate",
				"Namespaces %s do not exist", strings.Join(missing, ", "))
		}
		if launchStall != nil {
			r.Recorder.Eventf(&camp, nil, corev1.EventTypeWarning, launchStall.reason, "Launch", "%s", launchStall.msg)
		}
	})
	if apierrors.IsConflict(err) {
		// Another reconcile wrote status first (our cache was behind):
		// start over from the fresh object rather than report an error.
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if requeue > 0 {
		log.V(1).Info("waiting for the next phase boundary", "at", status.NextTransitionAt, "after", requeue)
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// writeStatus patches status when it differs from what is stored, and only
// after the write succeeded records the transition events and calls
// onWritten, so a failed write followed by a retry never duplicates events.
// An unchanged status writes nothing (no hot loop, no resourceVersion churn).
func (r *CampaignReconciler) writeStatus(ctx context.Context, camp *flycheckv1.Campaign,
	status *flycheckv1.CampaignStatus, transitions []schedule.Transition, onWritten func()) error {
	written, err := patchStatus(ctx, r.Client, camp, &camp.Status, status)
	if err != nil {
		return fmt.Errorf("updating status of campaign %s: %w", camp.Name, err)
	}
	if !written {
		return nil
	}
	r.recordTransitions(camp, transitions)
	onWritten()
	return nil
}

func (r *CampaignReconciler) recordTransitions(camp *flycheckv1.Campaign, transitions []schedule.Transition) {
	now := r.Clock.Now()
	for i, tr := range transitions {
		if i == maxTransitionEvents {
			rest := transitions[i:]
			r.Recorder.Eventf(camp, nil, corev1.EventTypeWarning, ReasonMissedTransitions, "CatchUp",
				"%d more transitions were missed (the last: phase %s %s at %s); status shows the current state",
				len(rest), rest[len(rest)-1].Phase, strings.ToLower(string(rest[len(rest)-1].To)),
				rest[len(rest)-1].At.Format(time.RFC3339))
			return
		}
		reason, verb := ReasonPhaseStarted, "started"
		switch {
		case tr.To == schedule.Completed:
			reason, verb = ReasonPhaseCompleted, "completed"
		case tr.From != schedule.Pending:
			reason, verb = ReasonPhaseReopened, "reopened (its dates moved)"
		}
		late := ""
		if now.Sub(tr.At) > time.Minute {
			late = fmt.Sprintf(" (observed late, at %s)", now.Format(time.RFC3339))
		}
		// The events API folds events that differ only in their note into one
		// series, so the phase goes into the action to keep one event per
		// transition.
		r.Recorder.Eventf(camp, nil, corev1.EventTypeNormal, reason, "Advance/"+tr.Phase,
			"Phase %s %s at %s%s", phaseLabel(camp, tr.Phase), verb, tr.At.Format(time.RFC3339), late)
	}
}

// missingNamespaces lists the city and province namespaces that do not exist.
func (r *CampaignReconciler) missingNamespaces(ctx context.Context, camp *flycheckv1.Campaign) ([]string, error) {
	var missing []string
	for _, ns := range campaignNamespaces(camp) {
		err := r.Get(ctx, types.NamespacedName{Name: ns}, &corev1.Namespace{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, ns)
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}

func campaignNamespaces(camp *flycheckv1.Campaign) []string {
	var out []string
	for _, c := range camp.Spec.Cities {
		out = append(out, c.Namespace)
	}
	if camp.Spec.ProvinceNamespace != "" && !slices.Contains(out, camp.Spec.ProvinceNamespace) {
		out = append(out, camp.Spec.ProvinceNamespace)
	}
	return out
}

func phaseSpecs(phases []flycheckv1.Phase) []schedule.PhaseSpec {
	out := make([]schedule.PhaseSpec, len(phases))
	for i, p := range phases {
		out[i] = schedule.PhaseSpec{Name: p.Name, Start: string(p.Start), End: string(p.End)}
	}
	return out
}

func previousStates(status *flycheckv1.CampaignStatus) map[string]schedule.State {
	prev := make(map[string]schedule.State, len(status.Phases))
	for _, p := range status.Phases {
		prev[p.Name] = schedule.State(p.State)
	}
	return prev
}

// setPhases writes each phase's state at now. The timestamps are the
// scheduled boundaries, not the moment they were observed, so status stays a
// pure function of spec and clock.
func setPhases(status *flycheckv1.CampaignStatus, plan *schedule.Plan, now time.Time) {
	launched := map[string]*metav1.Time{}
	for _, p := range status.Phases {
		launched[p.Name] = p.LaunchedAt
	}
	out := make([]flycheckv1.PhaseStatus, len(plan.Phases))
	for i, ph := range plan.Phases {
		st := flycheckv1.PhaseStatus{Name: ph.Name, State: flycheckv1.PhaseState(ph.StateAt(now)), LaunchedAt: launched[ph.Name]}
		if st.State != flycheckv1.PhasePending {
			st.StartedAt = timePtr(ph.Start)
		}
		if st.State == flycheckv1.PhaseCompleted {
			st.CompletedAt = timePtr(ph.End)
		}
		out[i] = st
	}
	status.Phases = out
}

// freezePhases keeps the recorded states while suspended; phases added to the
// spec meanwhile are listed as Pending, and removed ones are dropped.
func freezePhases(status *flycheckv1.CampaignStatus, plan *schedule.Plan) {
	prev := make(map[string]flycheckv1.PhaseStatus, len(status.Phases))
	for _, p := range status.Phases {
		prev[p.Name] = p
	}
	out := make([]flycheckv1.PhaseStatus, len(plan.Phases))
	for i, ph := range plan.Phases {
		if p, ok := prev[ph.Name]; ok {
			out[i] = p
		} else {
			out[i] = flycheckv1.PhaseStatus{Name: ph.Name, State: flycheckv1.PhasePending}
		}
	}
	status.Phases = out
}

// currentPhase is the active phase that started last, as recorded in status
// (so a suspended campaign keeps showing where it stopped).
func currentPhase(status *flycheckv1.CampaignStatus) string {
	current := ""
	var started time.Time
	for _, p := range status.Phases {
		if p.State != flycheckv1.PhaseActive || p.StartedAt == nil {
			continue
		}
		if current == "" || !p.StartedAt.Time.Before(started) {
			current, started = p.Name, p.StartedAt.Time
		}
	}
	return current
}

// setCityRows keeps one status row per city, in spec order, preserving the
// counts other parts of the operator fill in.
func setCityRows(status *flycheckv1.CampaignStatus, cities []flycheckv1.City) {
	prev := make(map[string]flycheckv1.CityStatus, len(status.Cities))
	for _, c := range status.Cities {
		prev[c.Name] = c
	}
	out := make([]flycheckv1.CityStatus, len(cities))
	for i, c := range cities {
		row, ok := prev[c.Name]
		if !ok {
			row = flycheckv1.CityStatus{Name: c.Name}
		}
		out[i] = row
	}
	status.Cities = out
}

func readyReason(plan *schedule.Plan, now time.Time) string {
	if _, ok := plan.NextTransition(now); !ok {
		return ReasonFinished
	}
	for _, s := range plan.StatesAt(now) {
		if s != schedule.Pending {
			return ReasonOnSchedule
		}
	}
	return ReasonNotStarted
}

func scheduleMessage(plan *schedule.Plan, now time.Time) string {
	next, ok := plan.NextTransition(now)
	if !ok {
		return fmt.Sprintf("all %d phases completed", len(plan.Phases))
	}
	var active []string
	for i, s := range plan.StatesAt(now) {
		if s == schedule.Active {
			active = append(active, plan.Phases[i].Name)
		}
	}
	when := next.In(plan.Location).Format(time.RFC3339)
	if len(active) == 0 {
		return "no phase active; next transition at " + when
	}
	return fmt.Sprintf("active: %s; next transition at %s", strings.Join(active, ", "), when)
}

func conditionReason(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil && c.Status == metav1.ConditionTrue {
		return c.Reason
	}
	return ""
}

func phaseLabel(camp *flycheckv1.Campaign, name string) string {
	for _, p := range camp.Spec.Phases {
		if p.Name == name && p.DisplayName != "" {
			return fmt.Sprintf("%s (%s)", name, p.DisplayName)
		}
	}
	return name
}

// timePtr converts to the second precision that status serialises with, so
// that comparing a freshly computed status with the stored one is exact.
func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}

// conditionSetter writes the kstatus trio (Ready, Reconciling, Stalled) with
// the object's generation; metav1.Condition's lastTransitionTime only moves
// when a status actually flips.
type conditionSetter struct {
	conds      *[]metav1.Condition
	generation int64
	now        time.Time
}

func (c conditionSetter) set(typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(c.conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: c.generation, LastTransitionTime: metav1.NewTime(c.now.Truncate(time.Second)),
	})
}

// ready: healthy and converged.
func (c conditionSetter) ready(reason, msg string) {
	c.set(flycheckv1.ConditionReady, metav1.ConditionTrue, reason, msg)
	c.set(flycheckv1.ConditionReconciling, metav1.ConditionFalse, ReasonUpToDate, "")
	c.set(flycheckv1.ConditionStalled, metav1.ConditionFalse, ReasonUpToDate, "")
}

// progressing: healthy, still working towards the desired state.
func (c conditionSetter) progressing(reason, msg string) {
	c.set(flycheckv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	c.set(flycheckv1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	c.set(flycheckv1.ConditionStalled, metav1.ConditionFalse, ReasonUpToDate, "")
}

// stalled: cannot progress without a human.
func (c conditionSetter) stalled(reason, msg string) {
	c.set(flycheckv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	c.set(flycheckv1.ConditionReconciling, metav1.ConditionFalse, reason, "")
	c.set(flycheckv1.ConditionStalled, metav1.ConditionTrue, reason, msg)
}

// SetupWithManager registers the controller. Campaigns are reconciled on
// spec changes (status writes of our own do not wake us), when their
// screening jobs and samples report progress, and when a namespace a
// campaign needs appears or disappears.
func (r *CampaignReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.Campaign{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&flycheckv1.ScreeningJob{}).
		Owns(&flycheckv1.InspectionSample{}).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.campaignsUsingNamespace),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return false }})).
		Named("campaign").
		Complete(r)
}

func (r *CampaignReconciler) campaignsUsingNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	var list flycheckv1.CampaignList
	if err := r.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "listing campaigns for a namespace event")
		return nil
	}
	var out []reconcile.Request
	for _, c := range list.Items {
		if slices.Contains(campaignNamespaces(&c), ns.GetName()) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
		}
	}
	return out
}
