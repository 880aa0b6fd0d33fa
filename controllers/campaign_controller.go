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

	// maxTransitionEvents bounds the events written when catching up after
	// downtime (like the CronJob controller's bound on missed starts): beyond
	// it one summary event says how many more transitions were missed.
	maxTransitionEvents = 10
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
	// written remembers the report snapshots known to exist, so that a
	// reconcile does not GET them again (campaign_reports.go).
	written snapshotMemo
	// pacer spaces the reconciles that case and tip-off events ask for.
	pacer rollupPacer
}

// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns/finalizers,verbs=update
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=screeningjobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectionsamples,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectioncases,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=tipoffs,verbs=get;list;watch

func (r *CampaignReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var camp flycheckv1.Campaign
	if ok, err := fetch(ctx, r.Client, req, &camp); !ok {
		if err == nil {
			r.pacer.forget(req.Name)
		}
		return ctrl.Result{}, err
	}
	// The pacer measures wall time on purpose: a reconcile slowed by a busy
	// API server spaces the next ones further.
	start := time.Now()
	defer func() { r.pacer.observe(camp.Name, time.Since(start)) }()
	res, err := r.reconcile(ctx, &camp)
	return settle(ctx, r.Client, r.Clock, &camp, res, err)
}

func (r *CampaignReconciler) reconcile(ctx context.Context, camp *flycheckv1.Campaign) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	now := r.Clock.Now()
	status := camp.Status.DeepCopy()
	status.ObservedGeneration = camp.Generation
	conds := newConditionSetter(&status.Conditions, camp.Generation, now)

	plan, err := schedule.Parse(camp.Spec.TimeZone, phaseSpecs(camp.Spec.Phases))
	if err != nil {
		// A bad zone or date will not fix itself: stall until the spec changes
		// (which triggers a reconcile) instead of retrying in a loop.
		reason := CampaignReasonInvalidSchedule
		if errors.Is(err, schedule.ErrUnknownTimeZone) {
			reason = CampaignReasonInvalidTimeZone
		}
		conds.stalled(reason, err.Error())
		setNextTransition(status, time.Time{}, nil)
		_, err := r.writeStatus(ctx, camp, status, note{corev1.EventTypeWarning, reason, "Validate", err.Error()})
		return ctrl.Result{}, err
	}

	missing, err := r.missingNamespaces(ctx, camp)
	if err != nil {
		return ctrl.Result{}, err
	}

	var transitions []schedule.Transition
	var requeue time.Duration
	if camp.Spec.Suspend {
		freezePhases(status, plan)
		setNextTransition(status, time.Time{}, nil)
	} else {
		transitions = plan.Diff(previousStates(status), now)
		setPhases(status, plan, now)
		next, ok := plan.NextTransition(now)
		if ok {
			requeue = next.Sub(now) + requeuePad
		}
		setNextTransition(status, next, plan.Location)
	}
	status.CurrentPhase = currentPhase(status)
	setCityRows(status, camp.Spec.Cities)

	// Children are created only while the campaign runs and every
	// namespace it needs exists.
	var launchStall *stallError
	if !camp.Spec.Suspend && len(missing) == 0 {
		err = r.launchPhases(ctx, camp, status, now)
		if err != nil && !asStall(err, &launchStall) {
			return ctrl.Result{}, err
		}
	}
	// The campaign's cases, read once for the roll-up and the milestones.
	byCity, err := r.casesByCity(ctx, camp)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.setCityCounts(ctx, camp, status, byCity); err != nil {
		return ctrl.Result{}, err
	}
	// Milestones and reports freeze with the phases while suspended.
	var dueNotes []note
	if !camp.Spec.Suspend {
		var nextDue time.Time
		if dueNotes, nextDue, err = r.setMilestones(camp, status, byCity, plan.Location, now); err != nil {
			return ctrl.Result{}, err
		}
		requeue = soonest(requeue, nextDue, now)
	}
	setCampaignConditions(conds, plan, now, camp.Spec.Suspend, missing, launchStall)

	// Events speak of changes: what the stored status said is compared with
	// what this reconcile decided, before the write replaces camp.Status.
	notes := append(transitionNotes(camp, transitions, now), rulesSkippedNotes(camp.Status.Cities, status.Cities)...)
	wasSuspended := conditionReason(camp.Status.Conditions, flycheckv1.ConditionReady) == CampaignReasonSuspended
	wasMissing := conditionReason(camp.Status.Conditions, flycheckv1.ConditionReconciling) == CampaignReasonNamespaceNotFound
	switch {
	case camp.Spec.Suspend && !wasSuspended:
		notes = append(notes, note{corev1.EventTypeNormal, CampaignReasonSuspendEvent, "Suspend",
			"Transitions frozen at " + now.Format(time.RFC3339)})
	case !camp.Spec.Suspend && wasSuspended:
		notes = append(notes, note{corev1.EventTypeNormal, CampaignReasonResumeEvent, "Resume",
			"Resumed at " + now.Format(time.RFC3339)})
	}
	if len(missing) > 0 && !wasMissing {
		notes = append(notes, note{corev1.EventTypeWarning, CampaignReasonNamespaceNotFound, "Validate",
			fmt.Sprintf("Namespaces %s do not exist", strings.Join(missing, ", "))})
	}
	if launchStall != nil {
		notes = append(notes, note{corev1.EventTypeWarning, launchStall.reason, "Launch", launchStall.msg})
	}
	notes = append(notes, dueNotes...)
	written, err := r.writeStatus(ctx, camp, status, notes...)
	if err != nil {
		return ctrl.Result{}, err
	}
	if written {
		observeTransitions(camp, transitions, now)
	}
	if len(missing) == 0 {
		nextReport, err := r.writeReports(ctx, camp, plan, now)
		if err != nil {
			// A report that cannot be written (a quota, the API server)
			// must not hold up phase boundaries and milestones: say so and
			// try again within a minute, keeping the boundary's requeue.
			r.Recorder.Eventf(camp, nil, corev1.EventTypeWarning, CampaignReasonReportFailed, "Report", "Writing a report: %v", err)
			log.Error(err, "writing a report")
			nextReport = now.Add(time.Minute)
		}
		requeue = soonest(requeue, nextReport, now)
	}
	if requeue > 0 {
		log.V(1).Info("waiting for the next phase boundary", "at", status.NextTransitionAt, "after", requeue)
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

func (r *CampaignReconciler) writeStatus(ctx context.Context, camp *flycheckv1.Campaign,
	status *flycheckv1.CampaignStatus, notes ...note) (bool, error) {
	return writeStatus(ctx, r.Client, r.Recorder, camp, &camp.Status, status, notes...)
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

// SetupWithManager registers the controller. Campaigns are reconciled on
// spec changes (status writes of our own do not wake us), when their
// screening jobs and samples report progress, when a namespace a
// campaign needs appears or disappears, and when a case's figures change
// (the roll-up).
func (r *CampaignReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := indexFields(mgr.GetFieldIndexer(), campaignNamespaceIndex, caseCampaignIndex, tipOffCampaignIndex); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.Campaign{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&flycheckv1.ScreeningJob{}).
		Owns(&flycheckv1.InspectionSample{}).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.campaignsUsingNamespace),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool { return false }})).
		Watches(&flycheckv1.InspectionCase{}, caseRollupHandler(&r.pacer)).
		Watches(&flycheckv1.TipOff{}, tipOffRollupHandler(&r.pacer)).
		Named("campaign").
		Complete(r)
}

func (r *CampaignReconciler) campaignsUsingNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	var list flycheckv1.CampaignList
	if err := r.List(ctx, &list, client.MatchingFields{campaignNamespaceIndex: ns.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "listing campaigns for a namespace event")
		return nil
	}
	return requestsFor(list.Items)
}
