package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// Reasons of the InspectionSample's conditions and events.
const (
	// Waiting (Ready=False, Reconciling=True): a frame is not ready yet.
	SampleReasonWaitingForFrame = "WaitingForFrame"
	// Stalled: a frame's ScreeningJob failed.
	SampleReasonFrameFailed = "FrameFailed"
	// Stalled: a frame ConfigMap does not parse, or frames overlap.
	SampleReasonInvalidFrame = "InvalidFrame"
	// Stalled: the draw rejected its input (policy out of range).
	SampleReasonDrawFailed = "DrawFailed"
	// Stalled: the sampling key Secret cannot be read or created.
	SampleReasonSamplingKeyUnavailable = "SamplingKeyUnavailable"
	// Stalled: the sampling key Secret exists but holds no usable key.
	SampleReasonSamplingKeyInvalid = "SamplingKeyInvalid"
	// Ready=True, and the Normal event of the draw.
	SampleReasonDrawn = "Drawn"
	// FrameChanged=False: the frame still has the digest drawn from.
	SampleReasonFrameUnchanged = "FrameUnchanged"
	// FrameChanged=True: the frame's digest differs from the one drawn from.
	SampleReasonDigestChanged = "DigestChanged"
	// FrameChanged=Unknown: the frame cannot be read any more.
	SampleReasonFrameUnavailable = "FrameUnavailable"
	// The Warning event when the frame's digest changes after the draw.
	SampleReasonFrameChanged = "FrameChanged"
	// Shortfall events use the shortfall kinds as reasons:
	// TertiaryBelowMinimum, CityBelowQuota, FrameBelowMinTotal.
)

// ScopeProvince is the seed scope of a province-wide (FlyCheck) sample.
const ScopeProvince = "province"

// maxEventNote is the events.k8s.io limit on an event's note.
const maxEventNote = 1024

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
	if err := r.Get(ctx, req.NamespacedName, &s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !s.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	err := r.reconcileSample(ctx, &s)
	if apierrors.IsConflict(err) {
		// Our cached copy was older than a status we wrote a moment ago:
		// start over from the fresh object rather than report an error.
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	return ctrl.Result{}, err
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

func (r *InspectionSampleReconciler) keys() samplingKeyStore {
	return samplingKeyStore{reader: r.APIReader, writer: r.Client, namespace: r.OperatorNamespace}
}

// draw waits for the frames, draws, and records the draw. The status write
// carries the resourceVersion the draw was based on: if the sample changed
// meanwhile (or the cache was stale), it is re-read, and a draw recorded by
// someone else wins — the sample is never drawn twice.
func (r *InspectionSampleReconciler) draw(ctx context.Context, s *flycheckv1.InspectionSample) error {
	now := r.Clock.Now()
	status := s.Status.DeepCopy()
	status.ObservedGeneration = s.Generation
	conds := conditionSetter{conds: &status.Conditions, generation: s.Generation, now: now}

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
		return r.writeStatus(ctx, s, status, r.announceReadyReason(s, status))
	}

	seed, err := r.seedFor(ctx, s)
	if err != nil {
		reason := SampleReasonSamplingKeyUnavailable
		if _, ok := errors.AsType[*samplingKeyError](err); ok {
			reason = SampleReasonSamplingKeyInvalid
		}
		conds.stalled(reason, err.Error())
		if werr := r.writeStatus(ctx, s, status, r.announceReadyReason(s, status)); werr != nil {
			return werr
		}
		return err // retried with backoff: the Secret is not watched
	}

	res, err := sampling.Draw(frame.Institutions, samplingPolicy(s.Spec.Policy), seed)
	if err != nil {
		conds.stalled(SampleReasonDrawFailed, err.Error())
		return r.writeStatus(ctx, s, status, r.announceReadyReason(s, status))
	}

	recordDraw(status, res, frame.ConfigMaps, now)
	conds.ready(SampleReasonDrawn, drawnMessage(status))
	frameCond(conds, metav1.ConditionFalse, SampleReasonFrameUnchanged,
		fmt.Sprintf("the frame has the digest the draw was made from (%s)", res.Frame.Digest))

	stored, ours, err := r.writeDrawOnce(ctx, s, status)
	switch {
	case err != nil || stored == nil:
		return err
	case !ours:
		// A draw was recorded meanwhile (this reconcile saw a stale copy):
		// keep it, and treat the sample as drawn — its frame may already
		// differ from the one that draw was made from.
		return r.compareFrame(ctx, stored)
	}
	r.announceDraw(stored, res)
	return nil
}

// writeDrawOnce patches status with the draw under optimistic locking. It
// returns the stored sample and whether it holds this draw (ours) or one
// recorded meanwhile, found after a conflict. nil when the sample is gone.
func (r *InspectionSampleReconciler) writeDrawOnce(ctx context.Context, s *flycheckv1.InspectionSample,
	status *flycheckv1.InspectionSampleStatus) (stored *flycheckv1.InspectionSample, ours bool, err error) {
	base := s
	for range 5 {
		obj := base.DeepCopy()
		obj.Status = *status
		err := r.Status().Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		switch {
		case err == nil:
			return obj, true, nil
		case apierrors.IsNotFound(err):
			return nil, false, nil
		case !apierrors.IsConflict(err):
			return nil, false, fmt.Errorf("recording the draw of %s/%s: %w", s.Namespace, s.Name, err)
		}
		var cur flycheckv1.InspectionSample
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(s), &cur); err != nil {
			return nil, false, client.IgnoreNotFound(err)
		}
		if cur.UID != s.UID {
			return nil, false, nil // deleted and re-created: the new object gets its own reconcile
		}
		if cur.Status.DrawnAt != nil {
			logf.FromContext(ctx).Info("the sample was drawn meanwhile; keeping that draw", "drawnAt", cur.Status.DrawnAt)
			return &cur, false, nil
		}
		base = &cur
	}
	return nil, false, fmt.Errorf("recording the draw of %s/%s: conflicts kept recurring", s.Namespace, s.Name)
}

// compareFrame is all a drawn sample ever gets: its frame's digest compared
// with the recorded one. The selection is never touched.
func (r *InspectionSampleReconciler) compareFrame(ctx context.Context, s *flycheckv1.InspectionSample) error {
	now := r.Clock.Now()
	status := s.Status.DeepCopy()
	status.ObservedGeneration = s.Generation
	conds := conditionSetter{conds: &status.Conditions, generation: s.Generation, now: now}
	conds.ready(SampleReasonDrawn, drawnMessage(status))

	recorded := ""
	if status.Frame != nil {
		recorded = status.Frame.Digest
	}
	frame, problems, err := r.frames().Resolve(ctx, s.Namespace, s.Spec.Frames)
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

	before := meta.FindStatusCondition(s.Status.Conditions, flycheckv1.ConditionFrameChanged)
	after := meta.FindStatusCondition(status.Conditions, flycheckv1.ConditionFrameChanged)
	return r.writeStatus(ctx, s, status, func() {
		if after.Status == metav1.ConditionTrue && (before == nil || before.Status != metav1.ConditionTrue || before.Message != after.Message) {
			// The new digest goes into the action so that a second change is
			// a new event, not a repeat folded into the first one's series.
			r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, SampleReasonFrameChanged, "Compare/"+current,
				"Frame digest changed from %s to %s after the draw; the selection is kept", recorded, current)
		}
	})
}

// writeStatus patches status when it differs from what is stored (no write,
// no resourceVersion change otherwise), then calls onWritten.
func (r *InspectionSampleReconciler) writeStatus(ctx context.Context, s *flycheckv1.InspectionSample,
	status *flycheckv1.InspectionSampleStatus, onWritten func()) error {
	written, err := patchStatus(ctx, r.Client, s, &s.Status, status)
	if err != nil || !written {
		return client.IgnoreNotFound(err)
	}
	onWritten()
	return nil
}

// announceReadyReason returns the event for a sample that starts waiting or
// stalls: one when the Ready reason changes, none while it stays.
func (r *InspectionSampleReconciler) announceReadyReason(s *flycheckv1.InspectionSample, status *flycheckv1.InspectionSampleStatus) func() {
	was := meta.FindStatusCondition(s.Status.Conditions, flycheckv1.ConditionReady)
	now := meta.FindStatusCondition(status.Conditions, flycheckv1.ConditionReady)
	stalled := meta.IsStatusConditionTrue(status.Conditions, flycheckv1.ConditionStalled)
	return func() {
		if now == nil || (was != nil && was.Reason == now.Reason) {
			return
		}
		typ := corev1.EventTypeNormal
		if stalled {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(s, nil, typ, now.Reason, "Resolve", "%s", eventNote(now.Message))
	}
}

// announceDraw records the Drawn event and one Warning per shortfall kind.
func (r *InspectionSampleReconciler) announceDraw(s *flycheckv1.InspectionSample, res sampling.Result) {
	var cities []string
	for _, c := range res.Counts.ByCity {
		cities = append(cities, fmt.Sprintf("%s %d/%d (%d tertiary)", c.CityCode, c.Selected, c.Institutions, c.Tertiary))
	}
	r.Recorder.Eventf(s, nil, corev1.EventTypeNormal, SampleReasonDrawn, "Draw", "%s", eventNote(fmt.Sprintf(
		"Drew %d of %d institutions (%d tertiary) with %s; frame digest %s; by city: %s",
		res.Counts.Selected, res.Frame.Size, res.Counts.Tertiary, res.Algorithm, res.Frame.Digest, strings.Join(cities, ", "))))

	byKind := map[sampling.ShortfallKind][]string{}
	var kinds []sampling.ShortfallKind
	for _, sf := range res.Shortfalls {
		if _, ok := byKind[sf.Kind]; !ok {
			kinds = append(kinds, sf.Kind)
		}
		byKind[sf.Kind] = append(byKind[sf.Kind], sf.Message)
	}
	for _, k := range kinds {
		r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, string(k), "Draw", "%s", eventNote(strings.Join(byKind[k], "; ")))
	}
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
func recordDraw(status *flycheckv1.InspectionSampleStatus, res sampling.Result, configMaps []string, now time.Time) {
	status.DrawnAt = timePtr(now)
	status.Algorithm = res.Algorithm
	status.Seed = res.Seed
	status.Frame = &flycheckv1.FrameSummary{
		Size: int32(res.Frame.Size), Tertiary: int32(res.Frame.Tertiary), Digest: res.Frame.Digest,
		ConfigMaps: slices.Clone(configMaps),
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

// eventNote cuts a note to the events API's limit on a rune boundary.
func eventNote(s string) string {
	if len(s) <= maxEventNote {
		return s
	}
	cut := maxEventNote - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Field indexes that map a frame back to the samples drawing from it.
const (
	// sampleFrameIndex indexes InspectionSamples by "ScreeningJob/<name>" and
	// "ConfigMap/<name>" of their spec.frames.
	sampleFrameIndex = "flycheck.spec.frames"
	// screeningJobFrameIndex indexes ScreeningJobs by status.frameConfigMap.
	screeningJobFrameIndex = "flycheck.status.frameConfigMap"
)

func frameIndexKey(kind, name string) string { return kind + "/" + name }

// SetupWithManager registers the controller. A sample is reconciled when it
// is created (its spec is immutable; status writes of our own do not wake
// it), when a ScreeningJob it draws from changes state or frame, and when a
// frame ConfigMap it reads is created, changed or deleted. ConfigMaps are
// watched as metadata only: the cache never holds frame contents.
func (r *InspectionSampleReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &flycheckv1.InspectionSample{}, sampleFrameIndex, func(o client.Object) []string {
		var keys []string
		for _, f := range o.(*flycheckv1.InspectionSample).Spec.Frames {
			if f.ScreeningJob != "" {
				keys = append(keys, frameIndexKey("ScreeningJob", f.ScreeningJob))
			}
			if f.ConfigMap != "" {
				keys = append(keys, frameIndexKey("ConfigMap", f.ConfigMap))
			}
		}
		return keys
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &flycheckv1.ScreeningJob{}, screeningJobFrameIndex, func(o client.Object) []string {
		if cm := o.(*flycheckv1.ScreeningJob).Status.FrameConfigMap; cm != "" {
			return []string{cm}
		}
		return nil
	}); err != nil {
		return err
	}
	frameStateChanged := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*flycheckv1.ScreeningJob)
		n, ok2 := e.ObjectNew.(*flycheckv1.ScreeningJob)
		return !ok1 || !ok2 || o.Status.State != n.Status.State || o.Status.FrameConfigMap != n.Status.FrameConfigMap
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
	out := make([]reconcile.Request, len(list.Items))
	for i, s := range list.Items {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&s)}
	}
	return out
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
