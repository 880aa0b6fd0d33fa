package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// Reasons of ScreeningJob conditions and events.
const (
	ReasonRuleSetNotFound = "RuleSetNotFound"
	ReasonInvalidRuleSet  = "InvalidRuleSet"
	ReasonJobNameTaken    = "JobNameTaken"
	ReasonRulesSnapshot   = "RulesSnapshotted"
	ReasonJobCreated      = "JobCreated"
	ReasonRunning         = "Running"
	ReasonShardFinished   = "ShardFinished"
	ReasonShardFailed     = "ShardFailed"
	ReasonSucceeded       = "Succeeded"
	ReasonFailed          = "Failed"
)

// DefaultScreenerImage runs the shard pods unless the operator's
// --screener-image or a ScreeningJob's spec.image says otherwise.
const DefaultScreenerImage = "ghcr.io/medfund/flycheck-operator:dev"

// ScreeningJobReconciler runs a ScreeningJob: it snapshots the rules, starts
// one Indexed Job of `flycheck screen` shards, folds the shard result
// ConfigMaps into status as they arrive, and writes the sampling frame when
// every shard has succeeded.
type ScreeningJobReconciler struct {
	client.Client
	// APIReader lists the shard result and rules ConfigMaps without caching
	// ConfigMaps (whose data would otherwise all sit in memory).
	APIReader     client.Reader
	Clock         clock.PassiveClock
	Recorder      events.EventRecorder
	ScreenerImage string
}

// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=screeningjobs,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=screeningjobs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=screeningjobs/finalizers,verbs=update
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=rulesets,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create

func (r *ScreeningJobReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var sj flycheckv1.ScreeningJob
	if err := r.Get(ctx, req.NamespacedName, &sj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !sj.DeletionTimestamp.IsZero() || finished(&sj.Status) {
		return ctrl.Result{}, nil
	}
	now := r.Clock.Now()
	status := sj.Status.DeepCopy()
	status.ObservedGeneration = sj.Generation
	conds := conditionSetter{conds: &status.Conditions, generation: sj.Generation, now: now}
	var notes []note // events, recorded once the status write succeeded

	if status.State == "" {
		status.State = flycheckv1.ScreeningPending
		status.Shards.Total = shardCount(&sj)
	}
	if status.RulesConfigMap == "" {
		name, digest, err := r.snapshotRules(ctx, &sj)
		if err != nil {
			var stall *stallError
			if !asStall(err, &stall) {
				return ctrl.Result{}, err
			}
			conds.stalled(stall.reason, stall.msg)
			return ctrl.Result{}, r.writeStatus(ctx, &sj, status, []note{{corev1.EventTypeWarning, stall.reason, "Snapshot", stall.msg}})
		}
		status.RulesConfigMap, status.RulesDigest = name, digest
		notes = append(notes, note{corev1.EventTypeNormal, ReasonRulesSnapshot, "Snapshot",
			fmt.Sprintf("Rules %s snapshotted into ConfigMap %s (sha256 %s)", strings.Join(sj.Spec.RuleSets, ", "), name, digest)})
	}

	job, created, err := r.ensureJob(ctx, &sj, status.RulesConfigMap)
	if err != nil {
		var stall *stallError
		if !asStall(err, &stall) {
			return ctrl.Result{}, err
		}
		conds.stalled(stall.reason, stall.msg)
		return ctrl.Result{}, r.writeStatus(ctx, &sj, status, append(notes, note{corev1.EventTypeWarning, stall.reason, "CreateJob", stall.msg}))
	}
	if created {
		notes = append(notes, note{corev1.EventTypeNormal, ReasonJobCreated, "CreateJob",
			fmt.Sprintf("Created Indexed Job %s with %d shards", job.Name, status.Shards.Total)})
	}
	status.JobName = job.Name
	if status.StartTime == nil {
		status.StartTime = timePtr(now)
	}
	status.State = flycheckv1.ScreeningRunning

	results, err := r.shardResults(ctx, &sj)
	if err != nil {
		return ctrl.Result{}, err
	}
	aggregate(status, results)
	for _, idx := range results.newSince(sj.Status.Shards.CompletedIndexes) {
		notes = append(notes, note{corev1.EventTypeNormal, ReasonShardFinished, "Shard/" + strconv.Itoa(idx),
			fmt.Sprintf("Shard %d of %d finished: %d lines, %d findings", idx, status.Shards.Total,
				results.done[idx].Stats.LinesInScope, results.done[idx].Stats.Findings)})
	}

	failures, err := r.shardFailures(ctx, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	status.FailedShards = failures
	status.Shards.Failed = int32(len(failures))
	switch {
	case len(failures) > 0 || jobCondition(job, batchv1.JobFailed):
		status.State = flycheckv1.ScreeningFailed
		status.CompletionTime = timePtr(now)
		msg := failureMessage(job, failures)
		conds.stalled(ReasonFailed, msg)
		notes = append(notes, note{corev1.EventTypeWarning, ReasonFailed, "Fail", msg})
	case len(results.done) == int(status.Shards.Total) && jobCondition(job, batchv1.JobComplete):
		frame, err := r.writeFrame(ctx, &sj, results)
		if err != nil {
			return ctrl.Result{}, err
		}
		status.FrameConfigMap = frame
		status.State = flycheckv1.ScreeningSucceeded
		status.CompletionTime = timePtr(now)
		msg := fmt.Sprintf("%d institutions screened (%d flagged), %d lines, %d findings; frame in ConfigMap %s",
			status.Institutions.Total, status.Institutions.Flagged, status.LinesScanned, status.Findings.Total, frame)
		conds.ready(ReasonSucceeded, msg)
		notes = append(notes, note{corev1.EventTypeNormal, ReasonSucceeded, "Complete", msg})
	default:
		conds.progressing(ReasonRunning, fmt.Sprintf("%d of %d shards finished", len(results.done), status.Shards.Total))
	}
	err = r.writeStatus(ctx, &sj, status, notes)
	if apierrors.IsConflict(err) {
		// A newer version was written meanwhile: start over from it.
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	return ctrl.Result{}, err
}

// finished: a ScreeningJob that succeeded (frame written) or failed is
// never touched again, so its record stays as it was.
func finished(s *flycheckv1.ScreeningJobStatus) bool {
	return s.State == flycheckv1.ScreeningFailed ||
		(s.State == flycheckv1.ScreeningSucceeded && s.FrameConfigMap != "")
}

func shardCount(sj *flycheckv1.ScreeningJob) int32 {
	if sj.Spec.Shards < 1 {
		return 1
	}
	return sj.Spec.Shards
}

// note is an event to record after a successful status write.
type note struct{ typ, reason, action, msg string }

func (r *ScreeningJobReconciler) writeStatus(ctx context.Context, sj *flycheckv1.ScreeningJob, status *flycheckv1.ScreeningJobStatus, notes []note) error {
	written, err := patchStatus(ctx, r.Client, sj, &sj.Status, status)
	if err != nil {
		return fmt.Errorf("updating status of screeningjob %s/%s: %w", sj.Namespace, sj.Name, err)
	}
	if !written {
		return nil
	}
	for _, n := range notes {
		r.Recorder.Eventf(sj, nil, n.typ, n.reason, n.action, "%s", n.msg)
	}
	return nil
}

// stallError is a problem only a human can fix; it becomes Stalled=True.
type stallError struct{ reason, msg string }

func (e *stallError) Error() string { return e.reason + ": " + e.msg }

func asStall(err error, target **stallError) bool {
	s, ok := err.(*stallError)
	if ok {
		*target = s
	}
	return ok
}

// snapshotRules copies the referenced RuleSets, in spec order, into an
// immutable ConfigMap named after their content hash. The file is the
// RuleSet manifest format `flycheck screen --rules` reads, so the audit
// trail holds exactly what ran. A snapshot made by an earlier reconcile
// whose status write was lost is reused.
func (r *ScreeningJobReconciler) snapshotRules(ctx context.Context, sj *flycheckv1.ScreeningJob) (name, digest string, err error) {
	var existing corev1.ConfigMapList
	if err := r.APIReader.List(ctx, &existing, client.InNamespace(sj.Namespace),
		client.MatchingLabels{LabelScreeningJob: sj.Name, LabelRole: RoleRules}); err != nil {
		return "", "", err
	}
	for _, cm := range existing.Items {
		if metav1.IsControlledBy(&cm, sj) {
			return cm.Name, cm.Annotations[annotationDigest], nil
		}
	}

	var buf bytes.Buffer
	var all []rules.Rule
	for i, rsName := range sj.Spec.RuleSets {
		var rs flycheckv1.RuleSet
		if err := r.Get(ctx, types.NamespacedName{Name: rsName}, &rs); err != nil {
			if apierrors.IsNotFound(err) {
				return "", "", &stallError{ReasonRuleSetNotFound, fmt.Sprintf("RuleSet %s does not exist; screening starts when it does", rsName)}
			}
			return "", "", err
		}
		all = append(all, rs.Spec.Rules...)
		doc, err := yaml.Marshal(map[string]any{
			"apiVersion": flycheckv1.GroupVersion.String(), "kind": "RuleSet",
			"metadata": map[string]any{"name": rs.Name}, "spec": rs.Spec,
		})
		if err != nil {
			return "", "", err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	if err := rules.Validate(all); err != nil {
		return "", "", &stallError{ReasonInvalidRuleSet, err.Error()}
	}
	sum := sha256.Sum256(buf.Bytes())
	digest = hex.EncodeToString(sum[:])
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: RulesConfigMapName(sj.Name, digest), Namespace: sj.Namespace,
			Labels:      withLabels(childLabels(sj.Labels), LabelScreeningJob, sj.Name, LabelRole, RoleRules),
			Annotations: map[string]string{annotationDigest: digest},
		},
		Immutable: ptr.To(true),
		Data:      map[string]string{RulesFileKey: buf.String()},
	}
	if err := controllerutil.SetControllerReference(sj, cm, r.Scheme()); err != nil {
		return "", "", err
	}
	if err := r.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	return cm.Name, digest, nil
}

const annotationDigest = "flycheck.medfund.io/sha256"

// ensureJob creates the shard pods' identity and the Indexed Job, or finds
// the Job made earlier. A Job of that name owned by something else is not
// ours to adopt.
func (r *ScreeningJobReconciler) ensureJob(ctx context.Context, sj *flycheckv1.ScreeningJob, rulesCM string) (*batchv1.Job, bool, error) {
	var job batchv1.Job
	err := r.Get(ctx, types.NamespacedName{Namespace: sj.Namespace, Name: JobName(sj.Name)}, &job)
	switch {
	case err == nil:
		if !metav1.IsControlledBy(&job, sj) {
			return nil, false, &stallError{ReasonJobNameTaken, fmt.Sprintf("Job %s exists and is not owned by this ScreeningJob", job.Name)}
		}
		return &job, false, nil
	case !apierrors.IsNotFound(err):
		return nil, false, err
	}
	if err := r.ensureScreenerIdentity(ctx, sj.Namespace); err != nil {
		return nil, false, err
	}
	image := sj.Spec.Image
	if image == "" {
		image = r.ScreenerImage
	}
	if image == "" {
		image = DefaultScreenerImage
	}
	newJob := newScreeningJobBatchJob(sj, image, rulesCM)
	if err := controllerutil.SetControllerReference(sj, newJob, r.Scheme()); err != nil {
		return nil, false, err
	}
	if err := r.Create(ctx, newJob); err != nil {
		if apierrors.IsAlreadyExists(err) { // a cache lagging behind: read it back and check the owner
			return r.ensureJob(ctx, sj, rulesCM)
		}
		return nil, false, err
	}
	return newJob, true, nil
}

func (r *ScreeningJobReconciler) ensureScreenerIdentity(ctx context.Context, namespace string) error {
	sa, role, binding := screenerRBAC(namespace)
	for _, obj := range []client.Object{sa, role, binding} {
		if err := r.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the screener's %T in %s: %w", obj, namespace, err)
		}
	}
	return nil
}

// shardOutcome holds the decoded shard results by index.
type shardOutcome struct {
	done  map[int]screening.ShardResult
	order []int // indexes in ascending order
}

// newSince lists the finished shards not yet in the recorded index list
// (shards finish in any order).
func (s shardOutcome) newSince(recorded string) []int {
	var out []int
	for _, idx := range s.order {
		if !slices.Contains(ParseIndexes(recorded), idx) {
			out = append(out, idx)
		}
	}
	return out
}

func (r *ScreeningJobReconciler) shardResults(ctx context.Context, sj *flycheckv1.ScreeningJob) (shardOutcome, error) {
	out := shardOutcome{done: map[int]screening.ShardResult{}}
	var list corev1.ConfigMapList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(sj.Namespace),
		client.MatchingLabels{LabelScreeningJob: sj.Name, LabelRole: RoleShard}); err != nil {
		return out, err
	}
	total := int(shardCount(sj))
	for _, cm := range list.Items {
		idx, err := strconv.Atoi(cm.Labels[LabelShard])
		// Only results under the expected name count: the shard identity
		// can create any ConfigMap, not only its own.
		if err != nil || idx < 0 || idx >= total || cm.Name != ShardResultName(sj.Name, idx) {
			continue
		}
		res, err := screening.DecodeShardResult(cm.BinaryData[ShardResultKey])
		if err != nil {
			logf.FromContext(ctx).Error(err, "unreadable shard result", "configmap", cm.Name)
			continue
		}
		out.done[idx] = res
	}
	for idx := range out.done {
		out.order = append(out.order, idx)
	}
	slices.Sort(out.order)
	return out, nil
}

// aggregate folds the shard results received so far into status.
func aggregate(status *flycheckv1.ScreeningJobStatus, results shardOutcome) {
	status.Shards.Succeeded = int32(len(results.done))
	status.Shards.CompletedIndexes = FormatIndexes(results.order)
	status.LinesScanned, status.LinesRejected = 0, 0
	status.Findings = flycheckv1.FindingCounts{}
	status.Institutions = flycheckv1.InstitutionCounts{}
	var suspect int64 // 1/10000 yuan, as rules.ParseDecimal returns
	for _, idx := range results.order {
		res := results.done[idx]
		status.LinesScanned += res.Stats.LinesInScope
		status.LinesRejected += res.Stats.LinesRejected
		status.Findings.Total += res.Stats.Findings
		for cat, n := range res.Stats.FindingsByCat {
			if status.Findings.ByCategory == nil {
				status.Findings.ByCategory = map[string]int64{}
			}
			status.Findings.ByCategory[cat] += n
		}
		if v, err := rules.ParseDecimal(res.Stats.AmountAtRisk); err == nil {
			suspect += v
		}
		for _, in := range res.Summary.Institutions {
			status.Institutions.Total++
			if in.Findings > 0 {
				status.Institutions.Flagged++
			}
		}
	}
	if len(results.done) > 0 {
		status.Findings.SuspectAmount = fmt.Sprintf("%d.%02d", suspect/10000, suspect%10000/100)
	}
}

// shardFailures reads the failed indexes from the Job and, where a failed
// pod of that index remains, the reason its container gave.
func (r *ScreeningJobReconciler) shardFailures(ctx context.Context, job *batchv1.Job) ([]flycheckv1.ShardFailure, error) {
	indexes := ParseIndexes(ptr.Deref(job.Status.FailedIndexes, ""))
	if len(indexes) == 0 {
		return nil, nil
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		return nil, err
	}
	reasons := map[int]string{}
	for _, p := range pods.Items {
		idx, err := strconv.Atoi(p.Annotations[batchv1.JobCompletionIndexAnnotation])
		if err != nil || p.Status.Phase != corev1.PodFailed {
			continue
		}
		reasons[idx] = podFailureReason(&p)
	}
	out := make([]flycheckv1.ShardFailure, 0, len(indexes))
	for _, idx := range indexes {
		reason := reasons[idx]
		if reason == "" {
			reason = "the Job reports this index failed; no failed pod is left to say why"
		}
		out = append(out, flycheckv1.ShardFailure{Index: int32(idx), Reason: reason})
	}
	return out, nil
}

func podFailureReason(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			msg := fmt.Sprintf("pod %s: container %s exited %d (%s)", p.Name, cs.Name, t.ExitCode, t.Reason)
			if t.Message != "" {
				msg += ": " + strings.TrimSpace(t.Message)
			}
			return msg
		}
	}
	if p.Status.Reason != "" || p.Status.Message != "" {
		return fmt.Sprintf("pod %s: %s %s", p.Name, p.Status.Reason, p.Status.Message)
	}
	return "pod " + p.Name + " failed"
}

func failureMessage(job *batchv1.Job, failures []flycheckv1.ShardFailure) string {
	if len(failures) > 0 {
		parts := make([]string, len(failures))
		for i, f := range failures {
			parts[i] = fmt.Sprintf("shard %d: %s", f.Index, f.Reason)
		}
		return strings.Join(parts, "; ")
	}
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return fmt.Sprintf("Job %s failed: %s %s", job.Name, c.Reason, c.Message)
		}
	}
	return "Job " + job.Name + " failed"
}

// ParseIndexes reads a Job's compressed index list, e.g. "1,3-5".
func ParseIndexes(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out
}

// FormatIndexes writes sorted indexes the way Jobs do: "0,2-4".
func FormatIndexes(idx []int) string {
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func jobCondition(job *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// writeFrame merges the shard summaries into the sampling frame: every
// institution in scope with its screening risk (docs/data-format.md).
func (r *ScreeningJobReconciler) writeFrame(ctx context.Context, sj *flycheckv1.ScreeningJob, results shardOutcome) (string, error) {
	parts := make([]*screening.Summary, 0, len(results.order))
	for _, idx := range results.order {
		parts = append(parts, results.done[idx].Summary)
	}
	merged, err := screening.MergeSummaries(parts...)
	if err != nil {
		return "", err
	}
	frame := make([]sampling.Institution, 0, len(merged.Institutions))
	for _, in := range merged.Institutions {
		risk, err := sampling.ParseRisk(in.RiskScore)
		if err != nil {
			return "", fmt.Errorf("institution %s: risk %q: %w", in.Code, in.RiskScore, err)
		}
		frame = append(frame, sampling.Institution{Code: in.Code, CityCode: in.CityCode, Name: in.Name,
			Level: in.Level, Ownership: in.Ownership, Type: in.Type, Risk: risk})
	}
	var buf bytes.Buffer
	if err := sampling.WriteFrame(&buf, frame); err != nil {
		return "", err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: FrameConfigMapName(sj.Name), Namespace: sj.Namespace,
			Labels: withLabels(childLabels(sj.Labels), LabelScreeningJob, sj.Name, LabelRole, RoleFrame),
		},
		Immutable: ptr.To(true),
		Data:      map[string]string{FrameKey: buf.String()},
	}
	if err := controllerutil.SetControllerReference(sj, cm, r.Scheme()); err != nil {
		return "", err
	}
	if err := r.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	return cm.Name, nil
}

func withLabels(m map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// SetupWithManager watches ScreeningJobs, their Jobs, shard result
// ConfigMaps (by label: the shard pods set the owner, but a label is what
// they cannot forget; as metadata only, so no ConfigMap data is cached),
// and RuleSets (a stalled job resumes when its RuleSet appears).
func (r *ScreeningJobReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.ScreeningJob{}).
		Owns(&batchv1.Job{}).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			name, ok := o.GetLabels()[LabelScreeningJob]
			if !ok || o.GetLabels()[LabelRole] != RoleShard {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
		})).
		Watches(&flycheckv1.RuleSet{}, handler.EnqueueRequestsFromMapFunc(r.jobsWaitingForRuleSet)).
		Named("screeningjob").
		Complete(r)
}

func (r *ScreeningJobReconciler) jobsWaitingForRuleSet(ctx context.Context, rs client.Object) []reconcile.Request {
	var list flycheckv1.ScreeningJobList
	if err := r.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "listing screening jobs for a RuleSet event")
		return nil
	}
	var out []reconcile.Request
	for _, sj := range list.Items {
		if sj.Status.RulesConfigMap == "" && slices.Contains(sj.Spec.RuleSets, rs.GetName()) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&sj)})
		}
	}
	return out
}
