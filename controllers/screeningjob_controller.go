package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// ScreenerDefaults are the pods' resources and deadline when the
	// ScreeningJob names none; the zero value means none at all.
	ScreenerDefaults ScreenerDefaults
	// OperatorNamespace holds the signing key Secret the per-job keys are
	// derived from.
	OperatorNamespace string

	results resultCache
	// The operator signing key, once read (see jobKey).
	masterMu sync.Mutex
	master   []byte
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
// +kubebuilder:rbac:groups="",resources=secrets,verbs=create
// +kubebuilder:rbac:groups="",namespace=flycheck-system,resources=secrets,verbs=get,resourceNames=flycheck-signing-key

func (r *ScreeningJobReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var sj flycheckv1.ScreeningJob
	if ok, err := fetch(ctx, r.Client, req, &sj); !ok || finished(&sj.Status) {
		r.results.forget(sj.UID)
		return ctrl.Result{}, err
	}
	return settle(ctx, r.Client, r.Clock, &sj, ctrl.Result{}, r.reconcile(ctx, &sj))
}

func (r *ScreeningJobReconciler) reconcile(ctx context.Context, sj *flycheckv1.ScreeningJob) error {
	now := r.Clock.Now()
	status := sj.Status.DeepCopy()
	status.ObservedGeneration = sj.Generation
	conds := newConditionSetter(&status.Conditions, sj.Generation, now)
	var notes []note // events, recorded once the status write succeeded

	if status.State == "" {
		status.State = flycheckv1.ScreeningPending
		status.Shards.Total = shardCount(sj)
	}
	if status.RulesConfigMap == "" {
		name, digest, err := r.snapshotRules(ctx, sj)
		if blocked(err, conds) {
			return r.writeStatus(ctx, sj, status, blockedNote(err, "Snapshot"))
		}
		if err != nil {
			return err
		}
		status.RulesConfigMap, status.RulesDigest = name, digest
		notes = append(notes, note{corev1.EventTypeNormal, ScreeningJobReasonRulesSnapshotted, "Snapshot",
			fmt.Sprintf("Rules %s snapshotted into ConfigMap %s (sha256 %s)", strings.Join(sj.Spec.RuleSets, ", "), name, digest)})
	}

	key, err := r.jobKey(ctx, sj)
	if err != nil {
		return err
	}
	job, created, err := r.ensureJob(ctx, sj, status.RulesConfigMap, key)
	if blocked(err, conds) {
		return r.writeStatus(ctx, sj, status, append(notes, blockedNote(err, "CreateJob"))...)
	}
	if err != nil {
		return err
	}
	if created {
		notes = append(notes, note{corev1.EventTypeNormal, ScreeningJobReasonJobCreated, "CreateJob",
			fmt.Sprintf("Created Indexed Job %s with %d shards", job.Name, status.Shards.Total)})
	}
	status.JobName = job.Name
	if status.StartTime == nil {
		status.StartTime = timePtr(now)
	}
	status.State = flycheckv1.ScreeningRunning

	results, err := r.shardResults(ctx, sj, key)
	if err != nil {
		return err
	}
	notes = append(notes, setRefused(status, results.refused)...)
	if err := aggregate(status, results); err != nil {
		return err
	}
	for _, idx := range results.newSince(sj.Status.Shards.CompletedIndexes) {
		notes = append(notes, note{corev1.EventTypeNormal, ScreeningJobReasonShardFinished, "Shard/" + strconv.Itoa(idx),
			fmt.Sprintf("Shard %d of %d finished: %d lines, %d findings", idx, status.Shards.Total,
				results.done[idx].Stats.LinesInScope, results.done[idx].Stats.Findings)})
		if st := results.done[idx].Stats; st.MemoryLimitRaisedTo > 0 {
			notes = append(notes, note{corev1.EventTypeWarning, ScreeningJobReasonShardOverMemory, "Shard/" + strconv.Itoa(idx),
				fmt.Sprintf("Shard %d's live heap reached %d MiB, over what its memory limit of %d MiB leaves the GC; it raised the limit to %d MiB to finish. "+
					"Give the ScreeningJob more shards (spec.shards) or its pods more memory (docs/screening.md, Memory)",
					idx, st.LiveHeapBytes>>20, st.MemoryLimitBytes>>20, st.MemoryLimitRaisedTo>>20)})
		}
	}
	status.RulesSkipped = skippedRules(results)
	if len(status.RulesSkipped) > 0 {
		conds.set(flycheckv1.ConditionRulesSkipped, metav1.ConditionTrue, ScreeningJobReasonMissingTables, fmt.Sprintf(
			"%d rules did not run because a table they need is missing from the extract: %s (see stats.json skippedRules)",
			len(status.RulesSkipped), strings.Join(status.RulesSkipped, ", ")))
	} else if len(results.done) > 0 {
		conds.set(flycheckv1.ConditionRulesSkipped, metav1.ConditionFalse, ScreeningJobReasonAllRulesRan, "")
	}

	failures, err := r.shardFailures(ctx, job)
	if err != nil {
		return err
	}
	status.FailedShards = failures
	status.Shards.Failed = int32(len(failures))
	complete := jobCondition(job, batchv1.JobComplete)
	switch {
	case len(failures) > 0 || jobCondition(job, batchv1.JobFailed):
		r.fail(status, conds, &notes, ScreeningJobReasonFailed, failureMessage(job, failures), now)
	case complete && len(results.done) < int(status.Shards.Total):
		r.fail(status, conds, &notes, ScreeningJobReasonResultsMissing, missingMessage(status.Shards.Total, results), now)
	case complete:
		frame, digest, err := r.writeFrame(ctx, sj, results)
		if blocked(err, conds) {
			return r.writeStatus(ctx, sj, status, append(notes, blockedNote(err, "WriteFrame"))...)
		}
		if err != nil {
			return err
		}
		status.FrameConfigMap, status.FrameDigest = frame, digest
		status.State = flycheckv1.ScreeningSucceeded
		status.CompletionTime = timePtr(now)
		msg := fmt.Sprintf("%d institutions screened (%d flagged), %d lines, %d findings; frame in ConfigMap %s (sha256 %s)",
			status.Institutions.Total, status.Institutions.Flagged, status.LinesScanned, status.Findings.Total, frame, digest)
		conds.ready(ScreeningJobReasonSucceeded, msg)
		notes = append(notes, note{corev1.EventTypeNormal, ScreeningJobReasonSucceeded, "Complete", msg})
	default:
		conds.progressing(ScreeningJobReasonRunning, fmt.Sprintf("%d of %d shards finished", len(results.done), status.Shards.Total))
	}
	return r.writeStatus(ctx, sj, status, notes...)
}

// fail ends the ScreeningJob: Failed is final (a new ScreeningJob reruns).
func (r *ScreeningJobReconciler) fail(status *flycheckv1.ScreeningJobStatus, conds conditionSetter, notes *[]note, reason, msg string, now time.Time) {
	status.State = flycheckv1.ScreeningFailed
	status.CompletionTime = timePtr(now)
	conds.stalled(reason, msg)
	*notes = append(*notes, note{corev1.EventTypeWarning, reason, "Fail", msg})
}

// missingMessage names the shards that completed without a verified result
// (deleted, or only forged ones left).
func missingMessage(total int32, results shardOutcome) string {
	var missing []string
	for i := range int(total) {
		if _, ok := results.done[i]; !ok {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	msg := fmt.Sprintf("the Job completed but shards %s left no verified result", strings.Join(missing, ", "))
	if n := len(results.refused); n > 0 {
		msg += fmt.Sprintf(" (%d refused results, see status.refusedResults)", n)
	}
	return msg + "; create a new ScreeningJob to screen again"
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

func (r *ScreeningJobReconciler) writeStatus(ctx context.Context, sj *flycheckv1.ScreeningJob,
	status *flycheckv1.ScreeningJobStatus, notes ...note) error {
	_, err := writeStatus(ctx, r.Client, r.Recorder, sj, &sj.Status, status, notes...)
	return err
}

// snapshotRules copies the referenced RuleSets, in spec order, into an
// immutable ConfigMap named after their content hash. The file is the
// RuleSet manifest format `flycheck screen --rules` reads, so the audit
// trail holds exactly what ran. A snapshot made by an earlier reconcile
// whose status write was lost is reused.
func (r *ScreeningJobReconciler) snapshotRules(ctx context.Context, sj *flycheckv1.ScreeningJob) (name, digest string, err error) {
	var existing corev1.ConfigMapList
	if err := r.APIReader.List(ctx, &existing, client.InNamespace(sj.Namespace),
		client.MatchingLabels{flycheckv1.LabelScreeningJob: sj.Name, flycheckv1.LabelRole: flycheckv1.RoleRules}); err != nil {
		return "", "", err
	}
	for _, cm := range existing.Items {
		if metav1.IsControlledBy(&cm, sj) {
			return cm.Name, cm.Annotations[flycheckv1.AnnotationDigest], nil
		}
	}

	var buf bytes.Buffer
	var all []rules.Rule
	for i, rsName := range sj.Spec.RuleSets {
		var rs flycheckv1.RuleSet
		if err := r.Get(ctx, types.NamespacedName{Name: rsName}, &rs); err != nil {
			if apierrors.IsNotFound(err) {
				return "", "", &waitError{ScreeningJobReasonRuleSetNotFound, fmt.Sprintf("RuleSet %s does not exist; screening starts when it does", rsName)}
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
		return "", "", &stallError{ScreeningJobReasonInvalidRuleSet, err.Error()}
	}
	sum := sha256.Sum256(buf.Bytes())
	digest = hex.EncodeToString(sum[:])
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: RulesConfigMapName(sj.Name, digest), Namespace: sj.Namespace,
			Labels:      withLabels(childLabels(sj.Labels), flycheckv1.LabelScreeningJob, sj.Name, flycheckv1.LabelRole, flycheckv1.RoleRules),
			Annotations: map[string]string{flycheckv1.AnnotationDigest: digest},
		},
		Immutable: ptr.To(true),
		Data:      map[string]string{flycheckv1.RulesFileKey: buf.String()},
	}
	if err := controllerutil.SetControllerReference(sj, cm, r.Scheme()); err != nil {
		return "", "", err
	}
	if err := r.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", err
	}
	return cm.Name, digest, nil
}

// ensureJob creates the shard pods' identity and the Indexed Job, or finds
// the Job made earlier. A Job of that name owned by something else is not
// ours to adopt.
func (r *ScreeningJobReconciler) ensureJob(ctx context.Context, sj *flycheckv1.ScreeningJob, rulesCM string, key []byte) (*batchv1.Job, bool, error) {
	job, err := r.ownJob(ctx, r.Client, sj)
	if err == nil || !apierrors.IsNotFound(err) {
		return job, false, err
	}
	if err := r.ensureScreenerIdentity(ctx, sj.Namespace); err != nil {
		return nil, false, err
	}
	secret, err := r.createSigningSecret(ctx, sj, key)
	if err != nil {
		return nil, false, err
	}
	image := sj.Spec.Image
	if image == "" {
		image = r.ScreenerImage
	}
	if image == "" {
		image = DefaultScreenerImage
	}
	newJob := newScreeningJobBatchJob(sj, image, rulesCM, secret, r.ScreenerDefaults)
	if err := controllerutil.SetControllerReference(sj, newJob, r.Scheme()); err != nil {
		return nil, false, err
	}
	if err := r.Create(ctx, newJob); err != nil {
		if apierrors.IsAlreadyExists(err) { // the cache lags behind: read it from the API server
			job, err := r.ownJob(ctx, r.APIReader, sj)
			return job, false, err
		}
		return nil, false, err
	}
	return newJob, true, nil
}

// ownJob reads the Job of sj; one of that name owned by something else is
// not ours to adopt.
func (r *ScreeningJobReconciler) ownJob(ctx context.Context, c client.Reader, sj *flycheckv1.ScreeningJob) (*batchv1.Job, error) {
	var job batchv1.Job
	if err := c.Get(ctx, types.NamespacedName{Namespace: sj.Namespace, Name: JobName(sj.Name)}, &job); err != nil {
		return nil, err
	}
	if !metav1.IsControlledBy(&job, sj) {
		return nil, &stallError{ScreeningJobReasonJobNameTaken, fmt.Sprintf("Job %s exists and is not owned by this ScreeningJob", job.Name)}
	}
	return &job, nil
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

// SetupWithManager watches ScreeningJobs, their Jobs, shard result
// ConfigMaps (by label: the shard pods set the owner, but a label is what
// they cannot forget; as metadata only, so no ConfigMap data is cached),
// and RuleSets (a stalled job resumes when its RuleSet appears).
func (r *ScreeningJobReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := indexFields(mgr.GetFieldIndexer(), screeningJobWaitingIndex); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.ScreeningJob{}).
		Owns(&batchv1.Job{}).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			name, ok := o.GetLabels()[flycheckv1.LabelScreeningJob]
			if !ok || o.GetLabels()[flycheckv1.LabelRole] != flycheckv1.RoleShard {
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
	if err := r.List(ctx, &list, client.MatchingFields{screeningJobWaitingIndex: rs.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "listing screening jobs for a RuleSet event")
		return nil
	}
	return requestsFor(list.Items)
}
