package main

// The demo's node player. envtest is a bare kube-apiserver and etcd: no
// kube-controller-manager (so no Job controller) and no kubelet, so the
// Indexed Jobs the operator creates for ScreeningJobs would never run. The
// node player stands in for both, for the demo only (the operator never
// imports this file's code): it watches Jobs labelled
// flycheck.medfund.io/screeningjob, runs each index's container as a local
// process of this binary with the container's arguments and environment,
// volumes mapped to local directories, and writes Pods and the Job status
// the way the Job controller and the kubelet would.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/indexlist"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// demoNodeName is the node the player's pods are bound to.
const demoNodeName = "flycheck-demo-node"

// nodePlayer runs the screening Jobs of a demo control plane.
type nodePlayer struct {
	cs kubernetes.Interface
	// exe is run for every container (the image's entrypoint is flycheck).
	exe string
	// env is added to every process's environment (tests use it to turn
	// the test binary into flycheck).
	env []string
	// workdir holds pvc/<claim>/ (PersistentVolumeClaims), logs/ and the
	// pods' scratch volumes.
	workdir string
	// kubeconfig is the pods' KUBECONFIG (there is no in-cluster config).
	kubeconfig string
	// impersonate makes each pod act as its ServiceAccount (the kubeconfig
	// must be allowed to impersonate), so it has the rights a pod in a
	// cluster would have, and no more.
	impersonate bool
	// slots bounds the processes running at once, over all Jobs (the
	// "node" has as many slots as cores).
	slots chan struct{}
	say   func(format string, args ...any)

	wg      sync.WaitGroup
	mu      sync.Mutex
	seen    map[types.UID]bool
	running int
	peak    int // most processes ever running at once (tests)
}

func newNodePlayer(cs kubernetes.Interface, exe, workdir, kubeconfig string, maxProcs int, say func(string, ...any)) *nodePlayer {
	if maxProcs < 1 {
		maxProcs = 1
	}
	return &nodePlayer{cs: cs, exe: exe, workdir: workdir, kubeconfig: kubeconfig,
		slots: make(chan struct{}, maxProcs), say: say, seen: map[types.UID]bool{}}
}

// peakProcesses is the most processes that ever ran at once.
func (p *nodePlayer) peakProcesses() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// run watches screening Jobs in all namespaces and plays each until ctx
// ends; it returns when every process it started has exited.
func (p *nodePlayer) run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(p.cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = flycheckv1.LabelScreeningJob }))
	inf := factory.Batch().V1().Jobs().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.consider(ctx, obj) },
		UpdateFunc: func(_, obj any) { p.consider(ctx, obj) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
	p.wg.Wait()
	return nil
}

// consider starts playing a Job the first time it is seen unsuspended and
// unfinished.
func (p *nodePlayer) consider(ctx context.Context, obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok || ptr.Deref(job.Spec.Suspend, false) || jobFinished(job) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[job.UID] || ctx.Err() != nil {
		return
	}
	p.seen[job.UID] = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		(&jobRun{p: p, job: job.DeepCopy()}).play(ctx)
	}()
}

func jobFinished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// jobRun is the state of one Job being played: what the Job controller
// counts and writes to its status.
type jobRun struct {
	p   *nodePlayer
	job *batchv1.Job

	mu                               sync.Mutex
	startTime                        metav1.Time
	active, ready, succeeded, failed int32
	completed, failedIndexes         map[int]bool
}

// play runs every index of the Job (at most parallelism at once, each
// retried up to backoffLimitPerIndex times) and then finishes the Job the
// way the Job controller does: SuccessCriteriaMet then Complete, or
// FailureTarget then Failed.
func (r *jobRun) play(ctx context.Context) {
	job := r.job
	name := job.Namespace + "/" + job.Name
	if ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) != batchv1.IndexedCompletion {
		r.p.say("node: Job %s is not an Indexed Job; the demo node leaves it alone", name)
		return
	}
	completions := int(ptr.Deref(job.Spec.Completions, 1))
	parallelism := min(int(ptr.Deref(job.Spec.Parallelism, 1)), completions)
	r.completed, r.failedIndexes = map[int]bool{}, map[int]bool{}
	r.startTime = metav1.NewTime(time.Now().Truncate(time.Second))
	if err := r.writeStatus(ctx, nil); err != nil {
		r.p.say("node: Job %s: writing its status: %v", name, err)
		return
	}

	jobCtx := ctx
	if d := job.Spec.ActiveDeadlineSeconds; d != nil {
		var cancel context.CancelFunc
		jobCtx, cancel = context.WithDeadline(ctx, r.startTime.Add(time.Duration(*d)*time.Second))
		defer cancel()
	}
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
	if ctx.Err() != nil {
		return // the demo is stopping; no cluster would finish the Job now
	}

	var reason, message string
	switch {
	case len(r.completed) == completions:
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
			r.p.say("node: Job %s: writing its completion: %v", name, err)
			return
		}
		r.p.say("node: Job %s complete: %d of %d indexes succeeded in %.1fs", name, completions, completions, time.Since(r.startTime.Time).Seconds())
		return
	}
	// Likewise Failed=True needs FailureTarget=True first.
	err := r.writeStatus(ctx, func(st *batchv1.JobStatus) { setJobCondition(st, batchv1.JobFailureTarget, reason, message) })
	if err == nil {
		err = r.writeStatus(ctx, func(st *batchv1.JobStatus) { setJobCondition(st, batchv1.JobFailed, reason, message) })
	}
	if err != nil {
		r.p.say("node: Job %s: writing its failure: %v", name, err)
		return
	}
	r.p.say("node: Job %s failed (%s): indexes %q succeeded, %q failed", name, reason,
		formatIndexSet(r.completed), formatIndexSet(r.failedIndexes))
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
		r.update(ctx, func() { r.failedIndexes[idx] = true })
	}
}

// update changes the counters and writes them to the Job's status.
func (r *jobRun) update(ctx context.Context, change func()) {
	r.mu.Lock()
	change()
	r.mu.Unlock()
	if err := r.writeStatus(ctx, nil); err != nil && ctx.Err() == nil {
		r.p.say("node: Job %s/%s: writing its status: %v", r.job.Namespace, r.job.Name, err)
	}
}

// writeStatus writes the counters (and whatever extra sets) to the Job's
// status subresource, retrying on conflicts.
func (r *jobRun) writeStatus(ctx context.Context, extra func(*batchv1.JobStatus)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	jobs := r.p.cs.BatchV1().Jobs(r.job.Namespace)
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
		st.Active, st.Ready = r.active, ptr.To(r.ready)
		st.Succeeded, st.Failed = r.succeeded, r.failed
		st.CompletedIndexes = formatIndexSet(r.completed)
		if job.Spec.BackoffLimitPerIndex != nil {
			st.FailedIndexes = ptr.To(formatIndexSet(r.failedIndexes))
		}
		if extra != nil {
			extra(st)
		}
		_, err = jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{FieldManager: "flycheck-demo-node"})
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
	idx := make([]int, 0, len(set))
	for i := range set {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return indexlist.Format(idx)
}

// runPod plays one pod of index idx: a Pod object (Pending, Running,
// Succeeded or Failed) and the local process of its container. It reports
// whether the container exited 0.
func (r *jobRun) runPod(ctx, jobCtx context.Context, idx, attempt, attempts int) bool {
	job, p := r.job, r.p
	r.update(ctx, func() { r.active++ })
	pod := r.createPod(ctx, idx)
	podName := fmt.Sprintf("%s-%d-%d", job.Name, idx, attempt)
	if pod != nil {
		podName = pod.Name
	}
	select { // wait for a free core, as a Pending pod waits for a node
	case p.slots <- struct{}{}:
	case <-jobCtx.Done():
		r.update(ctx, func() { r.active--; r.failed++ })
		return false
	}
	p.mu.Lock()
	p.running++
	p.peak = max(p.peak, p.running)
	p.mu.Unlock()
	release := func() {
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
		<-p.slots
	}

	started := time.Now()
	r.update(ctx, func() { r.ready++ })
	r.setPodPhase(ctx, pod, corev1.PodRunning, nil)
	shards := ptr.Deref(job.Spec.Completions, 1)
	p.say("node: shard %d/%d of %s/%s started (pod %s)", idx, shards, job.Namespace, job.Name, podName)
	exitCode, stderrTail, err := p.execContainer(jobCtx, job, idx, podName)
	// Not ready from the moment the process ends, before the core is free
	// for another index: ready never counts more pods than cores.
	r.mu.Lock()
	r.ready--
	r.mu.Unlock()
	release()
	if ctx.Err() != nil {
		return false
	}
	ok := err == nil && exitCode == 0
	term := &corev1.ContainerStateTerminated{ExitCode: int32(exitCode), Reason: "Completed",
		StartedAt: metav1.NewTime(started), FinishedAt: metav1.Now()}
	switch {
	case err != nil:
		term.ExitCode, term.Reason, term.Message = 128, "StartError", err.Error()
	case jobCtx.Err() != nil:
		term.Reason = "DeadlineExceeded"
	case !ok:
		term.Reason = "Error"
		if job.Spec.Template.Spec.Containers[0].TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
			term.Message = stderrTail
		}
	}
	r.update(ctx, func() {
		r.active--
		if ok {
			r.succeeded++
			r.completed[idx] = true
		} else {
			r.failed++
		}
	})
	if ok {
		r.setPodPhase(ctx, pod, corev1.PodSucceeded, term)
		p.say("node: shard %d/%d of %s/%s succeeded in %.1fs", idx, shards, job.Namespace, job.Name, time.Since(started).Seconds())
		return true
	}
	r.setPodPhase(ctx, pod, corev1.PodFailed, term)
	why := term.Message
	if why == "" {
		why = stderrTail
	}
	if why == "" {
		why = term.Reason
	}
	p.say("node: shard %d/%d of %s/%s failed (exit %d, attempt %d of %d): %s", idx, shards, job.Namespace, job.Name,
		term.ExitCode, attempt, attempts, lastLine(why))
	return false
}

// createPod records the pod in the API as the Job controller would create
// it, bound to the demo node. The pods are for people (kubectl get pods)
// and for the operator, which reads failed pods' termination messages; the
// process runs even if the API refuses the pod.
func (r *jobRun) createPod(ctx context.Context, idx int) *corev1.Pod {
	job := r.job
	tmpl := job.Spec.Template.DeepCopy()
	labels := tmpl.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	annotations := tmpl.Annotations
	if annotations == nil {
		annotations = map[string]string{}
	}
	labels[batchv1.JobNameLabel] = job.Name
	labels[batchv1.ControllerUidLabel] = string(job.UID)
	labels[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(idx)
	annotations[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(idx)
	spec := tmpl.Spec
	spec.NodeName = demoNodeName
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: fmt.Sprintf("%s-%d-", job.Name, idx),
			Namespace:    job.Namespace,
			Labels:       labels,
			Annotations:  annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: spec,
	}
	created, err := r.p.cs.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{FieldManager: "flycheck-demo-node"})
	if err != nil {
		if ctx.Err() == nil {
			r.p.say("node: recording a pod of %s/%s: %v (running it anyway)", job.Namespace, job.Name, err)
		}
		return nil
	}
	return created
}

// setPodPhase writes a pod's status as a kubelet would.
func (r *jobRun) setPodPhase(ctx context.Context, pod *corev1.Pod, phase corev1.PodPhase, term *corev1.ContainerStateTerminated) {
	if pod == nil {
		return
	}
	pods := r.p.cs.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		st := &cur.Status
		st.Phase = phase
		if st.StartTime == nil {
			st.StartTime = &now
		}
		st.HostIP, st.PodIP = "127.0.0.1", "127.0.0.1"
		st.HostIPs, st.PodIPs = []corev1.HostIP{{IP: "127.0.0.1"}}, []corev1.PodIP{{IP: "127.0.0.1"}}
		running := phase == corev1.PodRunning
		ready := corev1.ConditionFalse
		if running {
			ready = corev1.ConditionTrue
		}
		st.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: ready, LastTransitionTime: now},
		}
		st.ContainerStatuses = nil
		for _, c := range cur.Spec.Containers {
			cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: running, Started: ptr.To(running)}
			if running {
				cs.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
			} else if term != nil {
				cs.State.Terminated = term
			}
			st.ContainerStatuses = append(st.ContainerStatuses, cs)
		}
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{FieldManager: "flycheck-demo-node"})
		return err
	})
	if err != nil && ctx.Err() == nil {
		r.p.say("node: pod %s/%s status: %v", pod.Namespace, pod.Name, err)
	}
}

// mountPoint maps a path inside the container to a local directory.
type mountPoint struct{ path, local string }

// execContainer runs the Job's (first) container for index idx as a local
// process and waits for it. It returns the exit code and, for a failure,
// the end of what the process wrote to stderr.
func (p *nodePlayer) execContainer(ctx context.Context, job *batchv1.Job, idx int, podName string) (int, string, error) {
	spec := &job.Spec.Template.Spec
	if len(spec.Containers) == 0 {
		return 0, "", fmt.Errorf("pod template has no container")
	}
	c := spec.Containers[0]
	podDir := filepath.Join(p.workdir, "node", job.Namespace, podName)
	if err := os.MkdirAll(podDir, 0o755); err != nil {
		return 0, "", err
	}
	defer os.RemoveAll(podDir) // the pod's scratch volumes go with it, as on a node

	mounts, err := p.mountVolumes(ctx, job, &c, podDir)
	if err != nil {
		return 0, "", err
	}
	env, err := containerEnv(job, &c, idx, podName)
	if err != nil {
		return 0, "", err
	}
	lookup := func(name string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if env[i].Name == name {
				return env[i].Value, true
			}
		}
		return "", false
	}
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(c.Command) > 0 {
		if path.Base(c.Command[0]) != "flycheck" {
			return 0, "", fmt.Errorf("the demo node only runs flycheck, not %q", c.Command[0])
		}
		argv = argv[1:]
	}
	for i, a := range argv {
		argv[i] = rewriteMountPath(expandKubeVars(a, lookup), mounts)
	}
	kubeconfig := p.kubeconfig
	if p.impersonate {
		if kubeconfig, err = p.serviceAccountKubeconfig(job.Namespace, spec.ServiceAccountName, podDir); err != nil {
			return 0, "", err
		}
	}

	logPath := filepath.Join(p.workdir, "logs", job.Namespace, podName+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return 0, "", err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, "", err
	}
	defer logFile.Close()
	tail := &tailBuffer{max: 4096}
	cmd := exec.CommandContext(ctx, p.exe, argv...)
	cmd.Dir = podDir
	cmd.Stdout = logFile
	cmd.Stderr = io.MultiWriter(logFile, tail)
	cmd.Env = p.processEnv(env, mounts, podDir, kubeconfig)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	fmt.Fprintf(logFile, "# %s %s\n", p.exe, strings.Join(argv, " "))
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, "", nil
	case errors.As(err, &exit):
		code := exit.ExitCode()
		if code < 0 { // killed by a signal
			code = 137
		}
		return code, tail.String(), nil
	default:
		return 0, "", err
	}
}

// mountVolumes maps the container's volume mounts to local directories:
// a PersistentVolumeClaim to <workdir>/pvc/<claim>, a ConfigMap to a
// directory holding its keys as files, an emptyDir to an empty directory.
// The longest mount paths come first, so nested mounts win.
func (p *nodePlayer) mountVolumes(ctx context.Context, job *batchv1.Job, c *corev1.Container, podDir string) ([]mountPoint, error) {
	volumes := map[string]corev1.Volume{}
	for _, v := range job.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	var out []mountPoint
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume mount %s: no such volume", m.Name)
		}
		var local string
		switch {
		case v.PersistentVolumeClaim != nil:
			local = filepath.Join(p.workdir, "pvc", v.PersistentVolumeClaim.ClaimName)
		case v.ConfigMap != nil:
			local = filepath.Join(podDir, "volumes", v.Name)
			if err := p.writeConfigMapVolume(ctx, job.Namespace, v.ConfigMap, local); err != nil {
				return nil, err
			}
		case v.EmptyDir != nil:
			local = filepath.Join(podDir, "volumes", v.Name)
		default:
			return nil, fmt.Errorf("volume %s: only persistentVolumeClaim, configMap and emptyDir volumes are played", v.Name)
		}
		if m.SubPath != "" {
			local = filepath.Join(local, m.SubPath)
		}
		if err := os.MkdirAll(local, 0o755); err != nil {
			return nil, err
		}
		out = append(out, mountPoint{path: path.Clean(m.MountPath), local: local})
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].path) > len(out[j].path) })
	return out, nil
}

// writeConfigMapVolume writes a ConfigMap's keys as files, waiting a while
// for a ConfigMap that does not exist yet (a kubelet keeps the pod in
// ContainerCreating meanwhile).
func (p *nodePlayer) writeConfigMapVolume(ctx context.Context, namespace string, src *corev1.ConfigMapVolumeSource, dir string) error {
	var cm *corev1.ConfigMap
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		cm, err = p.cs.CoreV1().ConfigMaps(namespace).Get(ctx, src.Name, metav1.GetOptions{})
		if err == nil {
			break
		}
		if apierrors.IsNotFound(err) && ptr.Deref(src.Optional, false) {
			cm = &corev1.ConfigMap{}
			break
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			return fmt.Errorf("configMap volume %s: %w", src.Name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	files := map[string][]byte{}
	for k, v := range cm.Data {
		files[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		files[k] = v
	}
	if len(src.Items) > 0 {
		picked := map[string][]byte{}
		for _, it := range src.Items {
			data, ok := files[it.Key]
			if !ok {
				return fmt.Errorf("configMap volume %s: no key %s", src.Name, it.Key)
			}
			picked[it.Path] = data
		}
		files = picked
	}
	for name, data := range files {
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// containerEnv resolves the container's environment as the kubelet does:
// in order, each value expanding $(VAR) of the variables before it, field
// references read from the pod the Job controller would create. An
// Indexed Job's pods always get JOB_COMPLETION_INDEX.
func containerEnv(job *batchv1.Job, c *corev1.Container, idx int, podName string) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	lookup := func(name string) (string, bool) {
		for i := len(out) - 1; i >= 0; i-- {
			if out[i].Name == name {
				return out[i].Value, true
			}
		}
		return "", false
	}
	tmpl := &job.Spec.Template
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			out = append(out, corev1.EnvVar{Name: e.Name, Value: expandKubeVars(e.Value, lookup)})
		case e.ValueFrom.FieldRef != nil:
			v, err := podField(e.ValueFrom.FieldRef.FieldPath, job, tmpl, idx, podName)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			out = append(out, corev1.EnvVar{Name: e.Name, Value: v})
		default:
			return nil, fmt.Errorf("env %s: only values and field references are played", e.Name)
		}
	}
	if _, ok := lookup(flycheckv1.EnvCompletionIndex); !ok {
		out = append(out, corev1.EnvVar{Name: flycheckv1.EnvCompletionIndex, Value: strconv.Itoa(idx)})
	}
	return out, nil
}

// podField answers a downward-API field reference for the pod of index idx.
func podField(fieldPath string, job *batchv1.Job, tmpl *corev1.PodTemplateSpec, idx int, podName string) (string, error) {
	annotation := func(key string) string {
		if key == batchv1.JobCompletionIndexAnnotation {
			return strconv.Itoa(idx)
		}
		return tmpl.Annotations[key]
	}
	label := func(key string) string {
		switch key {
		case batchv1.JobCompletionIndexAnnotation:
			return strconv.Itoa(idx)
		case batchv1.JobNameLabel:
			return job.Name
		case batchv1.ControllerUidLabel:
			return string(job.UID)
		}
		return tmpl.Labels[key]
	}
	switch fieldPath {
	case "metadata.namespace":
		return job.Namespace, nil
	case "metadata.name":
		return podName, nil
	case "spec.nodeName":
		return demoNodeName, nil
	case "spec.serviceAccountName":
		return tmpl.Spec.ServiceAccountName, nil
	case "status.podIP", "status.hostIP":
		return "127.0.0.1", nil
	}
	for prefix, get := range map[string]func(string) string{"metadata.annotations": annotation, "metadata.labels": label} {
		if rest, ok := strings.CutPrefix(fieldPath, prefix+"['"); ok && strings.HasSuffix(rest, "']") {
			return get(strings.TrimSuffix(rest, "']")), nil
		}
	}
	return "", fmt.Errorf("field %s is not played by the demo node", fieldPath)
}

// processEnv is the environment of a container's process: the demo's own
// (PATH, HOME, ...) without anything that would point it at another
// cluster, then the container's variables, KUBECONFIG standing in for the
// in-cluster config, and TMPDIR on the container's /tmp volume.
func (p *nodePlayer) processEnv(env []corev1.EnvVar, mounts []mountPoint, podDir, kubeconfig string) []string {
	drop := map[string]bool{"KUBECONFIG": true, "KUBERNETES_SERVICE_HOST": true, "KUBERNETES_SERVICE_PORT": true, "TMPDIR": true}
	for _, e := range env {
		drop[e.Name] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	out = append(out, p.env...)
	for _, e := range env {
		out = append(out, e.Name+"="+e.Value)
	}
	tmp := rewriteMountPath("/tmp", mounts)
	if tmp == "/tmp" {
		tmp = filepath.Join(podDir, "tmp")
		_ = os.MkdirAll(tmp, 0o755)
	}
	return append(out, "KUBECONFIG="+kubeconfig, "TMPDIR="+tmp)
}

// serviceAccountKubeconfig writes a kubeconfig that acts as the pod's
// ServiceAccount, standing in for its mounted token.
func (p *nodePlayer) serviceAccountKubeconfig(namespace, serviceAccount, podDir string) (string, error) {
	kc, err := clientcmd.LoadFromFile(p.kubeconfig)
	if err != nil {
		return "", err
	}
	if serviceAccount == "" {
		serviceAccount = "default"
	}
	for _, ai := range kc.AuthInfos {
		ai.Impersonate = "system:serviceaccount:" + namespace + ":" + serviceAccount
		ai.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	}
	path := filepath.Join(podDir, "kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// expandKubeVars expands $(VAR) the way Kubernetes expands container
// arguments and environment values: a defined variable is replaced, an
// undefined reference is left as written, and $$ is an escaped $.
func expandKubeVars(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// rewriteMountPath maps a container path (or the value of a --flag=path
// argument) under a mount point to the local directory behind it.
func rewriteMountPath(arg string, mounts []mountPoint) string {
	for _, m := range mounts {
		if m.path == "/" {
			continue
		}
		if arg == m.path {
			return m.local
		}
		if rest, ok := strings.CutPrefix(arg, m.path+"/"); ok {
			return filepath.Join(m.local, filepath.FromSlash(rest))
		}
	}
	if flag, value, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(flag, "-") && strings.HasPrefix(value, "/") {
		if mapped := rewriteMountPath(value, mounts); mapped != value {
			return flag + "=" + mapped
		}
	}
	return arg
}

// tailBuffer keeps the last max bytes written to it, like the kubelet's
// FallbackToLogsOnError termination message.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// lastLine is the last non-empty line of s (the error a command printed).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
