package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// ScopeProvince is the seed scope of a province-wide (FlyCheck) sample.
const ScopeProvince = "province"

// InspectionSampleReconciler draws an InspectionSample exactly once, when
// all its frames are ready, with internal/sampling, and records the draw in
// status. Afterwards it only compares the frame's digest with the recorded
// one (the FrameChanged condition); it never touches the selection again.
type InspectionSampleReconciler struct {
	// Client is the manager's client: InspectionSamples and ScreeningJobs
	// come from its cache; writes go to the API server.
	client.Client
	// APIReader reads the API server directly: frame ConfigMaps (the cache
	// holds only ConfigMap metadata), the sampling key Secret (never cached)
	// and the sample itself after a write conflict.
	APIReader client.Reader
	Clock     clock.PassiveClock
	Recorder  events.EventRecorder
	// OperatorNamespace holds the sampling key Secret.
	OperatorNamespace string
}

// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectionsamples,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectionsamples/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=screeningjobs,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups="",namespace=flycheck-system,resources=secrets,verbs=create
// +kubebuilder:rbac:groups="",namespace=flycheck-system,resources=secrets,verbs=get,resourceNames=flycheck-sampling-key
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *InspectionSampleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var s flycheckv1.InspectionSample
	if ok, err := fetch(ctx, r.Client, req, &s); !ok {
		return ctrl.Result{}, err
	}
	return settle(ctx, r.Client, r.Clock, &s, ctrl.Result{}, r.reconcileSample(ctx, &s))
}

// reconcileSample draws s if it has not been drawn, else compares its frame.
func (r *InspectionSampleReconciler) reconcileSample(ctx context.Context, s *flycheckv1.InspectionSample) error {
	if s.Status.DrawnAt != nil {
		return r.compareFrame(ctx, s)
	}
	return r.draw(ctx, s)
}

func (r *InspectionSampleReconciler) frames() FrameResolver {
	return FrameResolver{ScreeningJobs: r.Client, ConfigMaps: r.APIReader}
}

func (r *InspectionSampleReconciler) keys() keyStore {
	return samplingKeyStore(r.APIReader, r.Client, r.OperatorNamespace)
}

// draw waits for the frames, draws, and records the draw.
func (r *InspectionSampleReconciler) draw(ctx context.Context, s *flycheckv1.InspectionSample) error {
	now := r.Clock.Now()
	status := s.Status.DeepCopy()
	status.ObservedGeneration = s.Generation
	conds := newConditionSetter(&status.Conditions, s.Generation, now)

	frame, problems, err := r.frames().Resolve(ctx, s.Namespace, s.Spec.Frames)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		if p, ok := firstStalled(problems); ok {
			conds.stalled(p.Reason, problemsMessage(problems))
		} else {
			conds.progressing(SampleReasonWaitingForFrame, "waiting for the frame: "+problemsMessage(problems))
		}
		return r.writeStatus(ctx, s, status, r.readyReasonNotes(s, status)...)
	}

	seed, err := r.seedFor(ctx, s)
	if err != nil {
		reason := SampleReasonSamplingKeyUnavailable
		if _, ok := errors.AsType[*samplingKeyError](err); ok {
			reason = SampleReasonSamplingKeyInvalid
		}
		conds.stalled(reason, err.Error())
		if werr := r.writeStatus(ctx, s, status, r.readyReasonNotes(s, status)...); werr != nil {
			return werr
		}
		return err // retried with backoff: the Secret is not watched
	}

	res, err := sampling.Draw(frame.Institutions, samplingPolicy(s.Spec.Policy), seed)
	if err != nil {
		conds.stalled(SampleReasonDrawFailed, err.Error())
		return r.writeStatus(ctx, s, status, r.readyReasonNotes(s, status)...)
	}

	snapshot, err := r.snapshotFrame(ctx, s, frame.Institutions, res.Frame.Digest)
	if blocked(err, conds) {
		return r.writeStatus(ctx, s, status, r.readyReasonNotes(s, status)...)
	}
	if err != nil {
		return err
	}
	recordDraw(status, res, frame, snapshot, now)
	conds.ready(SampleReasonDrawn, drawnMessage(status))
	frameCond(conds, metav1.ConditionFalse, SampleReasonFrameUnchanged,
		fmt.Sprintf("the frame has the digest the draw was made from (%s)", res.Frame.Digest))

	// The write carries the resourceVersion the draw was based on. If the
	// sample changed meanwhile (or the cache was stale) the write conflicts
	// and the reconcile starts over from the fresh object, which shows a
	// draw recorded meanwhile: a sample is never drawn twice.
	return r.writeStatus(ctx, s, status, drawNotes(res)...)
}

// snapshotFrame keeps the frame a draw is made from in an immutable
// ConfigMap owned by the sample and named after the frame's digest, so the
// draw stays verifiable whatever happens to the frames. A ConfigMap already
// under that name is used only when it holds exactly this frame (a previous
// reconcile wrote it); anything else there is refused.
func (r *InspectionSampleReconciler) snapshotFrame(ctx context.Context, s *flycheckv1.InspectionSample,
	frame []sampling.Institution, digest string) (string, error) {
	labels := childLabels(s.Labels)
	labels[flycheckv1.LabelRole] = flycheckv1.RoleSnapshot
	name := SampleSnapshotName(s.Name, digest)
	err := writeFrameConfigMap(ctx, r.Client, r.APIReader, frameWrite{
		owner: s, frame: frame, digest: digest,
		meta:         metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: labels},
		tooLarge:     SampleReasonFrameTooLarge,
		tooLargeHint: "draw per city",
		nameTaken:    SampleReasonSnapshotNameTaken,
		nameTakenMsg: "the frame drawn from; it was not written by the operator: delete it and the draw is recorded",
	})
	return name, err
}

// compareFrame is all a drawn sample ever gets: its frame's digest compared
// with the recorded one. The selection is never touched.
func (r *InspectionSampleReconciler) compareFrame(ctx context.Context, s *flycheckv1.InspectionSample) error {
	now := r.Clock.Now()
	status := s.Status.DeepCopy()
	status.ObservedGeneration = s.Generation
	conds := newConditionSetter(&status.Conditions, s.Generation, now)
	conds.ready(SampleReasonDrawn, drawnMessage(status))

	recorded := ""
	if status.Frame != nil {
		recorded = status.Frame.Digest
	}
	// The ConfigMaps drawn from, read as they are now (for a ScreeningJob's
	// frame, a replaced ConfigMap shows here as a changed digest).
	var (
		frame    ResolvedFrame
		problems []FrameProblem
		err      error
	)
	if status.Frame != nil && len(status.Frame.ConfigMaps) > 0 {
		frame, problems, err = r.frames().ReadConfigMaps(ctx, s.Namespace, status.Frame.ConfigMaps)
	} else {
		frame, problems, err = r.frames().Resolve(ctx, s.Namespace, s.Spec.Frames)
	}
	if err != nil {
		return err
	}
	var current string
	if len(problems) == 0 {
		if current, err = sampling.Digest(frame.Institutions); err != nil {
			problems = []FrameProblem{{Message: err.Error()}}
		}
	}
	switch {
	case len(problems) > 0:
		frameCond(conds, metav1.ConditionUnknown, SampleReasonFrameUnavailable,
			"the frame cannot be read now, so it cannot be compared with the one drawn from: "+problemsMessage(problems))
	case current == recorded:
		frameCond(conds, metav1.ConditionFalse, SampleReasonFrameUnchanged,
			fmt.Sprintf("the frame has the digest the draw was made from (%s)", recorded))
	default:
		frameCond(conds, metav1.ConditionTrue, SampleReasonDigestChanged, fmt.Sprintf(
			"the frame's digest is now %s but the draw was made from %s; the selection is kept (a sample is never redrawn: create a new InspectionSample to draw from the new frame)",
			current, recorded))
	}

	var notes []note
	before := meta.FindStatusCondition(s.Status.Conditions, flycheckv1.ConditionFrameChanged)
	after := meta.FindStatusCondition(status.Conditions, flycheckv1.ConditionFrameChanged)
	if after.Status == metav1.ConditionTrue && (before == nil || before.Status != metav1.ConditionTrue || before.Message != after.Message) {
		// The new digest goes into the action so that a second change is
		// a new event, not a repeat folded into the first one's series.
		notes = append(notes, note{corev1.EventTypeWarning, SampleReasonFrameChanged, "Compare/" + current,
			fmt.Sprintf("Frame digest changed from %s to %s after the draw; the selection is kept", recorded, current)})
	}
	return r.writeStatus(ctx, s, status, notes...)
}

func (r *InspectionSampleReconciler) writeStatus(ctx context.Context, s *flycheckv1.InspectionSample,
	status *flycheckv1.InspectionSampleStatus, notes ...note) error {
	_, err := writeStatus(ctx, r.Client, r.Recorder, s, &s.Status, status, notes...)
	return err
}

// readyReasonNotes is the event for a sample that starts waiting or stalls:
// one when the Ready reason changes, none while it stays.
func (r *InspectionSampleReconciler) readyReasonNotes(s *flycheckv1.InspectionSample, status *flycheckv1.InspectionSampleStatus) []note {
	was := meta.FindStatusCondition(s.Status.Conditions, flycheckv1.ConditionReady)
	now := meta.FindStatusCondition(status.Conditions, flycheckv1.ConditionReady)
	if now == nil || (was != nil && was.Reason == now.Reason) {
		return nil
	}
	typ := corev1.EventTypeNormal
	if meta.IsStatusConditionTrue(status.Conditions, flycheckv1.ConditionStalled) {
		typ = corev1.EventTypeWarning
	}
	return []note{{typ, now.Reason, "Resolve", now.Message}}
}

// drawNotes are the Drawn event and one Warning per shortfall kind.
func drawNotes(res sampling.Result) []note {
	var cities []string
	for _, c := range res.Counts.ByCity {
		cities = append(cities, fmt.Sprintf("%s %d/%d (%d tertiary)", c.CityCode, c.Selected, c.Institutions, c.Tertiary))
	}
	out := []note{{corev1.EventTypeNormal, SampleReasonDrawn, "Draw", fmt.Sprintf(
		"Drew %d of %d institutions (%d tertiary) with %s; frame digest %s; by city: %s",
		res.Counts.Selected, res.Frame.Size, res.Counts.Tertiary, res.Algorithm, res.Frame.Digest, strings.Join(cities, ", "))}}

	byKind := map[sampling.ShortfallKind][]string{}
	var kinds []sampling.ShortfallKind
	for _, sf := range res.Shortfalls {
		if _, ok := byKind[sf.Kind]; !ok {
			kinds = append(kinds, sf.Kind)
		}
		byKind[sf.Kind] = append(byKind[sf.Kind], sf.Message)
	}
	for _, k := range kinds {
		out = append(out, note{corev1.EventTypeWarning, string(k), "Draw", strings.Join(byKind[k], "; ")})
	}
	return out
}

// seedFor is spec.seed, or the seed derived from the sampling key (DESIGN
// §4.2): HMAC(key, campaign|purpose|scope), scope defaulting to the namespace.
func (r *InspectionSampleReconciler) seedFor(ctx context.Context, s *flycheckv1.InspectionSample) (string, error) {
	if s.Spec.Seed != "" {
		return s.Spec.Seed, nil
	}
	key, err := r.keys().get(ctx)
	if err != nil {
		return "", err
	}
	campaign, purpose, scope := SeedInputs(s)
	return sampling.DeriveSeed(key, campaign, purpose, scope), nil
}

// SeedInputs are the message a sample's derived seed is the HMAC of:
// campaign (spec.campaignRef.name or ""), purpose, and scope (spec.scope or
// the namespace).
func SeedInputs(s *flycheckv1.InspectionSample) (campaign, purpose, scope string) {
	if s.Spec.CampaignRef != nil {
		campaign = s.Spec.CampaignRef.Name
	}
	scope = s.Spec.Scope
	if scope == "" {
		scope = s.Namespace
	}
	return campaign, string(s.Spec.Purpose), scope
}

func samplingPolicy(p flycheckv1.SamplingPolicy) sampling.Policy {
	return sampling.Policy{
		MinPercent:         int(p.MinPercent),
		MinTertiaryPerCity: int(p.MinTertiaryPerCity),
		MinTotal:           int(p.MinTotal),
		RiskBasedPercent:   int(p.RiskBasedPercent),
	}
}

// recordDraw copies a draw into status.
func recordDraw(status *flycheckv1.InspectionSampleStatus, res sampling.Result, frame ResolvedFrame, snapshot string, now time.Time) {
	status.DrawnAt = timePtr(now)
	status.Algorithm = res.Algorithm
	status.Seed = res.Seed
	status.Frame = &flycheckv1.FrameSummary{
		Size: int32(res.Frame.Size), Tertiary: int32(res.Frame.Tertiary), Digest: res.Frame.Digest,
		ConfigMaps: slices.Clone(frame.ConfigMaps), Sources: slices.Clone(frame.Sources), Snapshot: snapshot,
	}
	status.Selected = make([]flycheckv1.SelectedInstitution, len(res.Selected))
	for i, p := range res.Selected {
		status.Selected[i] = flycheckv1.SelectedInstitution{
			Code: p.Code, Name: p.Name, CityCode: p.CityCode, Level: int32(p.Level), Ownership: p.Ownership,
			Reason: flycheckv1.SelectionReason(p.Reason), RiskScore: p.RiskScore.String(),
		}
	}
	counts := &flycheckv1.SampleCounts{Selected: int32(res.Counts.Selected), Tertiary: int32(res.Counts.Tertiary)}
	if len(res.Counts.ByReason) > 0 {
		counts.ByReason = map[string]int32{}
		for k, v := range res.Counts.ByReason {
			counts.ByReason[string(k)] = int32(v)
		}
	}
	for _, c := range res.Counts.ByCity {
		counts.ByCity = append(counts.ByCity, flycheckv1.CitySampleCount{
			CityCode: c.CityCode, Institutions: int32(c.Institutions), TertiaryInFrame: int32(c.TertiaryInFrame),
			Quota: int32(c.Quota), Selected: int32(c.Selected), Tertiary: int32(c.Tertiary),
		})
	}
	status.Counts = counts
	status.Shortfalls = nil
	for _, sf := range res.Shortfalls {
		status.Shortfalls = append(status.Shortfalls, flycheckv1.Shortfall{
			Kind: string(sf.Kind), CityCode: sf.CityCode, Wanted: int32(sf.Wanted), Available: int32(sf.Available),
			Message: sf.Message,
		})
	}
}

// drawnMessage is the Ready message of a drawn sample, from status alone (so
// it is the same on every reconcile).
func drawnMessage(status *flycheckv1.InspectionSampleStatus) string {
	var selected, tertiary, size int32
	if status.Counts != nil {
		selected, tertiary = status.Counts.Selected, status.Counts.Tertiary
	}
	if status.Frame != nil {
		size = status.Frame.Size
	}
	msg := fmt.Sprintf("drew %d of %d institutions (%d tertiary) with %s", selected, size, tertiary, status.Algorithm)
	if status.DrawnAt != nil {
		msg += " at " + status.DrawnAt.UTC().Format(time.RFC3339)
	}
	switch n := len(status.Shortfalls); {
	case n == 1:
		msg += "; 1 shortfall (see status.shortfalls)"
	case n > 1:
		msg += fmt.Sprintf("; %d shortfalls (see status.shortfalls)", n)
	}
	return msg
}

func frameCond(c conditionSetter, st metav1.ConditionStatus, reason, msg string) {
	c.set(flycheckv1.ConditionFrameChanged, st, reason, msg)
}

// SetupWithManager registers the controller. A sample is reconciled when it
// is created (its spec is immutable; status writes of our own do not wake
// it), when a ScreeningJob it draws from changes state or frame, and when a
// frame ConfigMap it reads is created, changed or deleted. ConfigMaps are
// watched as metadata only: the cache never holds frame contents.
func (r *InspectionSampleReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := indexFields(mgr.GetFieldIndexer(), sampleFrameIndex, screeningJobFrameIndex); err != nil {
		return err
	}
	frameStateChanged := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*flycheckv1.ScreeningJob)
		n, ok2 := e.ObjectNew.(*flycheckv1.ScreeningJob)
		return !ok1 || !ok2 || o.Status.State != n.Status.State || o.Status.FrameConfigMap != n.Status.FrameConfigMap ||
			o.Status.FrameDigest != n.Status.FrameDigest
	}}
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.InspectionSample{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&flycheckv1.ScreeningJob{}, handler.EnqueueRequestsFromMapFunc(r.samplesUsingScreeningJob),
			builder.WithPredicates(frameStateChanged)).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.samplesUsingConfigMap)).
		// A draw sorts a whole frame: two at a time use both cores.
		WithOptions(controller.Options{MaxConcurrentReconciles: 2}).
		Named("inspectionsample").
		Complete(r)
}

func (r *InspectionSampleReconciler) samplesUsingScreeningJob(ctx context.Context, sj client.Object) []reconcile.Request {
	return r.samplesWithFrame(ctx, sj.GetNamespace(), frameIndexKey("ScreeningJob", sj.GetName()))
}

func (r *InspectionSampleReconciler) samplesUsingConfigMap(ctx context.Context, cm client.Object) []reconcile.Request {
	out := r.samplesWithFrame(ctx, cm.GetNamespace(), frameIndexKey("ConfigMap", cm.GetName()))
	var jobs flycheckv1.ScreeningJobList
	if err := r.List(ctx, &jobs, client.InNamespace(cm.GetNamespace()),
		client.MatchingFields{screeningJobFrameIndex: cm.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "listing ScreeningJobs for a ConfigMap event")
		return out
	}
	for _, sj := range jobs.Items {
		out = append(out, r.samplesWithFrame(ctx, sj.Namespace, frameIndexKey("ScreeningJob", sj.Name))...)
	}
	return out
}

func (r *InspectionSampleReconciler) samplesWithFrame(ctx context.Context, namespace, key string) []reconcile.Request {
	var list flycheckv1.InspectionSampleList
	if err := r.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{sampleFrameIndex: key}); err != nil {
		logf.FromContext(ctx).Error(err, "listing InspectionSamples for a frame event", "frame", key)
		return nil
	}
	return requestsFor(list.Items)
}

// PhaseSample describes the InspectionSample a Campaign phase with
// `sampling:` asks for in one namespace.
type PhaseSample struct {
	Campaign *flycheckv1.Campaign
	Phase    string // the phase's name
	Sampling flycheckv1.PhaseSampling
	// Name of the object, e.g. <campaign>-<phase>-<city>.
	Name string
	// Namespace: the city's for a Recheck; spec.provinceNamespace for a
	// FlyCheck (unannounced checks must not be visible to the cities).
	Namespace string
	// City is the city's name for the city label; empty for a province-wide
	// sample.
	City string
	// Scope of the derived seed: the city code for a Recheck, ScopeProvince
	// for a FlyCheck. Two phases of one campaign with the same purpose and
	// scope derive the same seed; give one of them a distinct scope (e.g.
	// "<phase>/<city code>") if their draws must differ.
	Scope  string
	Frames []flycheckv1.FrameSource
}

// NewPhaseSample builds the InspectionSample for p: labelled with campaign,
// phase (and city), owned by the Campaign (deleting the campaign deletes its
// samples), with the phase's policy, purpose and seed. Creating it is the
// caller's business; the spec is immutable, so an existing sample is left as
// it is.
func NewPhaseSample(p PhaseSample) *flycheckv1.InspectionSample {
	labels := map[string]string{
		flycheckv1.LabelCampaign: p.Campaign.Name,
		flycheckv1.LabelPhase:    p.Phase,
	}
	if p.City != "" {
		labels[flycheckv1.LabelCity] = p.City
	}
	return &flycheckv1.InspectionSample{
		ObjectMeta: metav1.ObjectMeta{
			Name:      p.Name,
			Namespace: p.Namespace,
			Labels:    labels,
			OwnerReferences: []metav1.OwnerReference{
				*metav1.NewControllerRef(p.Campaign, flycheckv1.GroupVersion.WithKind("Campaign")),
			},
		},
		Spec: flycheckv1.InspectionSampleSpec{
			CampaignRef: &flycheckv1.CampaignReference{Name: p.Campaign.Name},
			Purpose:     p.Sampling.Purpose,
			Policy:      p.Sampling.SamplingPolicy,
			Frames:      slices.Clone(p.Frames),
			Seed:        p.Sampling.Seed,
			Scope:       p.Scope,
		},
	}
}
