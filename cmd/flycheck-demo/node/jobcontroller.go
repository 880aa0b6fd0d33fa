package node

// The Job controller's part: run a Job's indexes, count its pods, and write
// the counts and the final conditions to the Job's status.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/medfund/flycheck-operator/internal/indexlist"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// jobCounts is what the Job controller counts and writes to a Job's status.
type jobCounts struct {
	active, ready, succeeded, failed int32
	completed, failedIndexes         map[int]bool
}

// jobRun is one Job being played. Its pods change the counts under mu (a
// few instructions, never an API call) and signal changed; one goroutine
// at a time writes them to the API (writeLoop while the pods run, play
// before and after), so a pod never waits for a status write and its
// retries, and an older count never overwrites a newer one.
type jobRun struct {
	p         *Player
	job       *batchv1.Job
	startTime metav1.Time

	mu      sync.Mutex
	counts  jobCounts
	changed chan struct{} // capacity 1: a pending write covers every change before it
}

func newJobRun(p *Player, job *batchv1.Job) *jobRun {
	return &jobRun{p: p, job: job, changed: make(chan struct{}, 1),
		counts: jobCounts{completed: map[int]bool{}, failedIndexes: map[int]bool{}}}
}

// play runs every index of the Job (at most parallelism at once, each
// retried up to backoffLimitPerIndex times) and then finishes the Job the
// way the Job controller does: SuccessCriteriaMet then Complete, or
// FailureTarget then Failed.
func (r *jobRun) play(ctx context.Context) {
	job := r.job
	name := job.Namespace + "/" + job.Name
	say := r.p.cfg.Say
	if ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) != batchv1.IndexedCompletion {
		say("node: Job %s is not an Indexed Job; the demo node leaves it alone", name)
		return
	}
	completions := int(ptr.Deref(job.Spec.Completions, 1))
	parallelism := min(int(ptr.Deref(job.Spec.Parallelism, 1)), completions)
	r.startTime = metav1.NewTime(time.Now().Truncate(time.Second))
	if err := r.writeStatus(ctx, nil); err != nil {
		say("node: Job %s: writing its status: %v", name, err)
		return
	}

	jobCtx := ctx
	if d := job.Spec.ActiveDeadlineSeconds; d != nil {
		var cancel context.CancelFunc
		jobCtx, cancel = context.WithDeadline(ctx, r.startTime.Add(time.Duration(*d)*time.Second))
		defer cancel()
	}
	stopWriter, writerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(writerDone)
		r.writeLoop(ctx, stopWriter)
	}()
	indexes := make(chan int, completions)
	for i := range completions {
		indexes <- i
	}
	close(indexes)
	var wg sync.WaitGroup
	for range parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range indexes {
				if jobCtx.Err() == nil {
					r.runIndex(ctx, jobCtx, idx)
				}
			}
		}()
	}
	wg.Wait()
	close(stopWriter)
	<-writerDone // the last counts are written; play is the only writer from here
	if ctx.Err() != nil {
		return // the demo is stopping; no cluster would finish the Job now
	}

	final := r.snapshot()
	var reason, message string
	switch {
	case len(final.completed) == completions:
		reason, message = "CompletionsReached", "Reached expected number of succeeded pods"
	case jobCtx.Err() != nil:
		reason, message = "DeadlineExceeded", "Job was active longer than specified deadline"
	default:
		reason, message = "FailedIndexes", "Job has failed indexes"
	}
	if reason == "CompletionsReached" {
		// Two writes, as the Job controller makes them: kube-apiserver
		// refuses Complete=True without SuccessCriteriaMet=True.
		err := r.writeStatus(ctx, func(st *batchv1.JobStatus) {
			setJobCondition(st, batchv1.JobSuccessCriteriaMet, reason, message)
		})
		if err == nil {
			err = r.writeStatus(ctx, func(st *batchv1.JobStatus) {
				setJobCondition(st, batchv1.JobComplete, reason, message)
				st.CompletionTime = ptr.To(metav1.NewTime(time.Now().Truncate(time.Second)))
			})
		}
		if err != nil {
			say("node: Job %s: writing its completion: %v", name, err)
			return
		}
		say("node: Job %s complete: %d of %d indexes succeeded in %.1fs", name, completions, completions, time.Since(r.startTime.Time).Seconds())
		return
	}
	// Likewise Failed=True needs FailureTarget=True first.
	err := r.writeStatus(ctx, func(st *batchv1.JobStatus) { setJobCondition(st, batchv1.JobFailureTarget, reason, message) })
	if err == nil {
		err = r.writeStatus(ctx, func(st *batchv1.JobStatus) { setJobCondition(st, batchv1.JobFailed, reason, message) })
	}
	if err != nil {
		say("node: Job %s: writing its failure: %v", name, err)
		return
	}
	say("node: Job %s failed (%s): indexes %q succeeded, %q failed", name, reason,
		formatIndexSet(final.completed), formatIndexSet(final.failedIndexes))
}

// runIndex runs one index until it succeeds or its retries are used up.
func (r *jobRun) runIndex(ctx, jobCtx context.Context, idx int) {
	attempts := 1 + int(ptr.Deref(r.job.Spec.BackoffLimitPerIndex, 0))
	for attempt := 1; attempt <= attempts; attempt++ {
		ok := r.runPod(ctx, jobCtx, idx, attempt, attempts)
		if ok || ctx.Err() != nil || jobCtx.Err() != nil {
			return
		}
	}
	if r.job.Spec.BackoffLimitPerIndex != nil {
		r.change(func(c *jobCounts) { c.failedIndexes[idx] = true })
	}
}

// change applies f to the counts and asks writeLoop to write them.
func (r *jobRun) change(f func(*jobCounts)) {
	r.mu.Lock()
	f(&r.counts)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default: // a write is pending; it will read this change too
	}
}

// snapshot copies the counts.
func (r *jobRun) snapshot() jobCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts
	c.completed, c.failedIndexes = maps.Clone(c.completed), maps.Clone(c.failedIndexes)
	return c
}

// writeLoop writes the counts each time they change, until stop is closed;
// then it writes a last change still pending and returns.
func (r *jobRun) writeLoop(ctx context.Context, stop <-chan struct{}) {
	write := func() {
		if err := r.writeStatus(ctx, nil); err != nil && ctx.Err() == nil {
			r.p.cfg.Say("node: Job %s/%s: writing its status: %v", r.job.Namespace, r.job.Name, err)
		}
	}
	for {
		select {
		case <-r.changed:
			write()
		case <-stop:
			select {
			case <-r.changed:
				write()
			default:
			}
			return
		case <-ctx.Done():
			return
		}
	}
}

// writeStatus writes the current counts (and whatever extra sets) to the
// Job's status subresource, retrying on conflicts. It holds no lock: only
// one goroutine at a time calls it (see jobRun).
func (r *jobRun) writeStatus(ctx context.Context, extra func(*batchv1.JobStatus)) error {
	counts := r.snapshot()
	jobs := r.p.cfg.Clientset.BatchV1().Jobs(r.job.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		job, err := jobs.Get(ctx, r.job.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if job.UID != r.job.UID {
			return fmt.Errorf("job was replaced")
		}
		st := &job.Status
		if st.StartTime == nil {
			st.StartTime = ptr.To(r.startTime)
		}
		st.Active, st.Ready = counts.active, ptr.To(counts.ready)
		st.Succeeded, st.Failed = counts.succeeded, counts.failed
		st.CompletedIndexes = formatIndexSet(counts.completed)
		if job.Spec.BackoffLimitPerIndex != nil {
			st.FailedIndexes = ptr.To(formatIndexSet(counts.failedIndexes))
		}
		if extra != nil {
			extra(st)
		}
		_, err = jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	})
}

func setJobCondition(st *batchv1.JobStatus, typ batchv1.JobConditionType, reason, message string) {
	now := metav1.Now()
	for i := range st.Conditions {
		if st.Conditions[i].Type == typ {
			st.Conditions[i].Status, st.Conditions[i].Reason, st.Conditions[i].Message = corev1.ConditionTrue, reason, message
			st.Conditions[i].LastProbeTime, st.Conditions[i].LastTransitionTime = now, now
			return
		}
	}
	st.Conditions = append(st.Conditions, batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue,
		Reason: reason, Message: message, LastProbeTime: now, LastTransitionTime: now})
}

// formatIndexSet writes indexes as Jobs do: "0,2-4".
func formatIndexSet(set map[int]bool) string {
	return indexlist.Format(slices.Sorted(maps.Keys(set)))
}
