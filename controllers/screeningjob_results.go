package controllers

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/indexlist"
	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// What a ScreeningJob's shards report: results read from their ConfigMaps,
// failures read from the Job and its pods, and the frame merged from the
// results once every shard succeeded.

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
		if !slices.Contains(indexlist.Parse(recorded), idx) {
			out = append(out, idx)
		}
	}
	return out
}

func (r *ScreeningJobReconciler) shardResults(ctx context.Context, sj *flycheckv1.ScreeningJob) (shardOutcome, error) {
	out := shardOutcome{done: map[int]screening.ShardResult{}}
	var list corev1.ConfigMapList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(sj.Namespace),
		client.MatchingLabels{flycheckv1.LabelScreeningJob: sj.Name, flycheckv1.LabelRole: flycheckv1.RoleShard}); err != nil {
		return out, err
	}
	total := int(shardCount(sj))
	for _, cm := range list.Items {
		idx, err := strconv.Atoi(cm.Labels[flycheckv1.LabelShard])
		// Only results under the expected name count: the shard identity
		// can create any ConfigMap, not only its own.
		if err != nil || idx < 0 || idx >= total || cm.Name != ShardResultName(sj.Name, idx) {
			continue
		}
		res, err := screening.DecodeShardResult(cm.BinaryData[flycheckv1.ShardResultKey])
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

// aggregate folds the shard results received so far into status: the run
// figures merged by screening.MergeStats (the same sums and money format as
// a merged stats.json), the institutions from the shard summaries (the rows
// of the frame to be).
func aggregate(status *flycheckv1.ScreeningJobStatus, results shardOutcome) error {
	status.Shards.Succeeded = int32(len(results.done))
	status.Shards.CompletedIndexes = indexlist.Format(results.order)
	status.LinesScanned, status.LinesRejected = 0, 0
	status.Findings = flycheckv1.FindingCounts{}
	status.Institutions = flycheckv1.InstitutionCounts{}
	if len(results.order) == 0 {
		return nil
	}
	stats := make([]*screening.Stats, len(results.order))
	for i, idx := range results.order {
		stats[i] = results.done[idx].Stats
		for _, in := range results.done[idx].Summary.Institutions {
			status.Institutions.Total++
			if in.Findings > 0 {
				status.Institutions.Flagged++
			}
		}
	}
	merged, err := screening.MergeStats(stats...)
	if err != nil {
		return err
	}
	status.LinesScanned, status.LinesRejected = merged.LinesInScope, merged.LinesRejected
	status.Findings.Total = merged.Findings
	if len(merged.FindingsByCat) > 0 {
		status.Findings.ByCategory = merged.FindingsByCat
	}
	status.Findings.SuspectAmount = merged.AmountAtRisk
	return nil
}

// shardFailures reads the failed indexes from the Job and, where a failed
// pod of that index remains, the reason its container gave.
func (r *ScreeningJobReconciler) shardFailures(ctx context.Context, job *batchv1.Job) ([]flycheckv1.ShardFailure, error) {
	indexes := indexlist.Parse(ptr.Deref(job.Status.FailedIndexes, ""))
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
			Labels: withLabels(childLabels(sj.Labels), flycheckv1.LabelScreeningJob, sj.Name, flycheckv1.LabelRole, flycheckv1.RoleFrame),
		},
		Immutable: ptr.To(true),
		Data:      map[string]string{flycheckv1.FrameKey: buf.String()},
	}
	if err := controllerutil.SetControllerReference(sj, cm, r.Scheme()); err != nil {
		return "", err
	}
	if err := r.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	return cm.Name, nil
}
