package controllers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/indexlist"
	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// What a ScreeningJob's shards report: results read from their ConfigMaps,
// failures read from the Job and its pods, and the frame merged from the
// results once every shard succeeded.

// shardOutcome holds the verified shard results by index, and the
// ConfigMaps that were refused.
type shardOutcome struct {
	done    map[int]screening.ShardResult
	order   []int // indexes in ascending order
	refused []flycheckv1.RefusedResult
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

// shardResults reads the ConfigMaps labelled as sj's shard results. Anyone
// who may create ConfigMaps in the namespace can create such a label, so
// each result counts only when its signature (made with sj's key, over sj's
// UID, the index on its label and its bytes) verifies; that is checked
// before anything is inflated. The rest are refused, never blocking a
// genuine result: results have generated names, so a forged object cannot
// take a genuine one's place. When a shard was retried, its results are
// equal; the first by creation time and name is used.
func (r *ScreeningJobReconciler) shardResults(ctx context.Context, sj *flycheckv1.ScreeningJob, key []byte) (shardOutcome, error) {
	out := shardOutcome{done: map[int]screening.ShardResult{}}
	var list corev1.ConfigMapList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(sj.Namespace),
		client.MatchingLabels{flycheckv1.LabelScreeningJob: sj.Name, flycheckv1.LabelRole: flycheckv1.RoleShard}); err != nil {
		return out, err
	}
	slices.SortFunc(list.Items, func(a, b corev1.ConfigMap) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	total := int(shardCount(sj))
	for i := range list.Items {
		cm := &list.Items[i]
		idx, reason := verifyShardResult(cm, sj, key, total)
		if reason == "" {
			if _, dup := out.done[idx]; dup {
				continue
			}
			res, err := r.results.decode(sj.UID, cm)
			if err == nil {
				out.done[idx] = res
				continue
			}
			reason = "signed but unreadable: " + err.Error()
		}
		out.refused = append(out.refused, flycheckv1.RefusedResult{Name: cm.Name, Reason: reason})
	}
	for idx := range out.done {
		out.order = append(out.order, idx)
	}
	slices.Sort(out.order)
	slices.SortFunc(out.refused, func(a, b flycheckv1.RefusedResult) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// verifyShardResult returns the shard index of a genuine result, or why cm
// is not one.
func verifyShardResult(cm *corev1.ConfigMap, sj *flycheckv1.ScreeningJob, key []byte, total int) (int, string) {
	idx, err := strconv.Atoi(cm.Labels[flycheckv1.LabelShard])
	switch {
	case err != nil || idx < 0 || idx >= total:
		return 0, fmt.Sprintf("label %s=%q is not a shard index of this job (0..%d)", flycheckv1.LabelShard, cm.Labels[flycheckv1.LabelShard], total-1)
	case !metav1.IsControlledBy(cm, sj):
		return 0, "not owned by this ScreeningJob"
	case len(cm.BinaryData[flycheckv1.ShardSignatureKey]) == 0:
		return 0, "no signature"
	case !screening.VerifyShardResult(key, string(sj.UID), idx, cm.BinaryData[flycheckv1.ShardResultKey], cm.BinaryData[flycheckv1.ShardSignatureKey]):
		return 0, fmt.Sprintf("signature does not verify for shard %d of this job", idx)
	}
	return idx, ""
}

// setRefused records the refused results in status and returns a Warning
// note for each one not recorded before.
func setRefused(status *flycheckv1.ScreeningJobStatus, refused []flycheckv1.RefusedResult) []note {
	var known []string
	if status.RefusedResults != nil {
		for _, r := range status.RefusedResults.Recent {
			known = append(known, r.Name)
		}
	}
	if len(refused) == 0 {
		status.RefusedResults = nil
		return nil
	}
	const recent = 8
	status.RefusedResults = &flycheckv1.RefusedResults{Count: int32(len(refused)), Recent: slices.Clone(refused[:min(recent, len(refused))])}
	var notes []note
	for _, r := range status.RefusedResults.Recent {
		if !slices.Contains(known, r.Name) {
			notes = append(notes, note{corev1.EventTypeWarning, ScreeningJobReasonResultRefused, "Verify/" + r.Name,
				fmt.Sprintf("Refused shard result ConfigMap %s: %s; it is ignored (see docs/screening.md, trust model)", r.Name, r.Reason)})
		}
	}
	return notes
}

// resultCache keeps decoded shard results by ConfigMap UID and
// resourceVersion, so each result is inflated and decoded once, not on
// every reconcile; a ScreeningJob's entries go when it finishes.
type resultCache struct {
	mu    sync.Mutex
	byJob map[types.UID]map[types.UID]cachedResult
}

type cachedResult struct {
	resourceVersion string
	res             screening.ShardResult
}

func (c *resultCache) decode(job types.UID, cm *corev1.ConfigMap) (screening.ShardResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byJob[job][cm.UID]; ok && e.resourceVersion == cm.ResourceVersion {
		return e.res, nil
	}
	res, err := screening.DecodeShardResult(cm.BinaryData[flycheckv1.ShardResultKey])
	if err != nil {
		return res, err
	}
	if c.byJob == nil {
		c.byJob = map[types.UID]map[types.UID]cachedResult{}
	}
	if c.byJob[job] == nil {
		c.byJob[job] = map[types.UID]cachedResult{}
	}
	c.byJob[job][cm.UID] = cachedResult{cm.ResourceVersion, res}
	return res, nil
}

func (c *resultCache) forget(job types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byJob, job)
}

// skippedRules is the union of the rules the shards could not run.
func skippedRules(results shardOutcome) []string {
	var out []string
	for _, idx := range results.order {
		for _, id := range results.done[idx].Stats.SkippedRules {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
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

// writeFrame merges the verified shard summaries into the sampling frame
// (every institution in scope with its screening risk, docs/data-format.md),
// writes it gzip-compressed to an immutable ConfigMap named after its
// digest, and returns the name and the digest. An object that already holds
// that name is used only when its frame is byte for byte the one computed
// here (a previous reconcile wrote it); anything else under the name is
// refused, never adopted.
func (r *ScreeningJobReconciler) writeFrame(ctx context.Context, sj *flycheckv1.ScreeningJob, results shardOutcome) (name, digest string, err error) {
	parts := make([]*screening.Summary, 0, len(results.order))
	for _, idx := range results.order {
		parts = append(parts, results.done[idx].Summary)
	}
	merged, err := screening.MergeSummaries(parts...)
	if err != nil {
		return "", "", err
	}
	frame := make([]sampling.Institution, 0, len(merged.Institutions))
	for _, in := range merged.Institutions {
		risk, err := sampling.ParseRisk(in.RiskScore)
		if err != nil {
			return "", "", fmt.Errorf("institution %s: risk %q: %w", in.Code, in.RiskScore, err)
		}
		frame = append(frame, sampling.Institution{Code: in.Code, CityCode: in.CityCode, Name: in.Name,
			Level: in.Level, Ownership: in.Ownership, Type: in.Type, Risk: risk})
	}
	if digest, err = sampling.Digest(frame); err != nil {
		return "", "", err
	}
	name = FrameConfigMapName(sj.Name, digest)
	err = writeFrameConfigMap(ctx, r.Client, r.APIReader, frameWrite{
		owner: sj, frame: frame, digest: digest,
		meta: metav1.ObjectMeta{Name: name, Namespace: sj.Namespace,
			Labels: withLabels(childLabels(sj.Labels), flycheckv1.LabelScreeningJob, sj.Name, flycheckv1.LabelRole, flycheckv1.RoleFrame)},
		tooLarge:     ScreeningJobReasonFrameTooLarge,
		tooLargeHint: "screen the city with a cityCode filter per district, or split the roster",
		nameTaken:    ScreeningJobReasonFrameNameTaken,
		nameTakenMsg: "the frame the shards reported; it was not written by the operator and is never used: delete it and the frame is written",
	})
	if err != nil {
		return "", "", err
	}
	return name, digest, nil
}
