package node

// The kubelet's part: a Pod's life (Pending, Running, Succeeded or Failed)
// and the local process of its container, with its volumes and logs.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
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

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// runPod plays one pod of index idx: a Pod object and the local process of
// its container. It reports whether the container exited 0.
func (r *jobRun) runPod(ctx, jobCtx context.Context, idx, attempt, attempts int) bool {
	job, p := r.job, r.p
	r.change(func(c *jobCounts) { c.active++ })
	pod := r.createPod(ctx, idx)
	podName := fmt.Sprintf("%s-%d-%d", job.Name, idx, attempt)
	if pod != nil {
		podName = pod.Name
	}
	release, ok := p.takeSlot(jobCtx)
	if !ok {
		r.change(func(c *jobCounts) { c.active--; c.failed++ })
		return false
	}

	started := time.Now()
	r.change(func(c *jobCounts) { c.ready++ })
	r.setPodPhase(ctx, pod, corev1.PodRunning, nil)
	shards := ptr.Deref(job.Spec.Completions, 1)
	p.cfg.Say("node: shard %d/%d of %s/%s started (pod %s)", idx, shards, job.Namespace, job.Name, podName)
	exitCode, stderrTail, err := p.execContainer(jobCtx, job, idx, podName)
	// Not ready from the moment the process ends, before the core is free
	// for another index: ready never counts more pods than cores.
	r.change(func(c *jobCounts) { c.ready-- })
	release()
	if ctx.Err() != nil {
		return false
	}
	ok = err == nil && exitCode == 0
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
	r.change(func(c *jobCounts) {
		c.active--
		if ok {
			c.succeeded++
			c.completed[idx] = true
		} else {
			c.failed++
		}
	})
	if ok {
		r.setPodPhase(ctx, pod, corev1.PodSucceeded, term)
		p.cfg.Say("node: shard %d/%d of %s/%s succeeded in %.1fs", idx, shards, job.Namespace, job.Name, time.Since(started).Seconds())
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
	p.cfg.Say("node: shard %d/%d of %s/%s failed (exit %d, attempt %d of %d): %s", idx, shards, job.Namespace, job.Name,
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
	spec.NodeName = Name
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
	created, err := r.p.cfg.Clientset.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		if ctx.Err() == nil {
			r.p.cfg.Say("node: recording a pod of %s/%s: %v (running it anyway)", job.Namespace, job.Name, err)
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
	pods := r.p.cfg.Clientset.CoreV1().Pods(pod.Namespace)
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
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	})
	if err != nil && ctx.Err() == nil {
		r.p.cfg.Say("node: pod %s/%s status: %v", pod.Namespace, pod.Name, err)
	}
}

// execContainer runs the Job's (first) container for index idx as a local
// process and waits for it. It returns the exit code and, for a failure,
// the end of what the process wrote to stderr.
func (p *Player) execContainer(ctx context.Context, job *batchv1.Job, idx int, podName string) (int, string, error) {
	spec := &job.Spec.Template.Spec
	if len(spec.Containers) == 0 {
		return 0, "", fmt.Errorf("pod template has no container")
	}
	c := spec.Containers[0]
	podDir := filepath.Join(p.cfg.Workdir, "node", job.Namespace, podName)
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
	argv, err := containerArgs(&c, env, mounts)
	if err != nil {
		return 0, "", err
	}
	kubeconfig := p.cfg.Kubeconfig
	if p.cfg.Impersonate {
		if kubeconfig, err = serviceAccountKubeconfig(p.cfg.Kubeconfig, job.Namespace, spec.ServiceAccountName, podDir); err != nil {
			return 0, "", err
		}
	}

	logPath := filepath.Join(p.cfg.Workdir, "logs", job.Namespace, podName+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return 0, "", err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, "", err
	}
	defer logFile.Close()
	tail := &tailBuffer{max: 4096}
	cmd := exec.CommandContext(ctx, p.cfg.Flycheck, argv...)
	cmd.Dir = podDir
	cmd.Stdout = logFile
	cmd.Stderr = io.MultiWriter(logFile, tail)
	cmd.Env = processEnv(env, mounts, podDir, kubeconfig)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	fmt.Fprintf(logFile, "# %s %s\n", p.cfg.Flycheck, strings.Join(argv, " "))
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
func (p *Player) mountVolumes(ctx context.Context, job *batchv1.Job, c *corev1.Container, podDir string) ([]mountPoint, error) {
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
			local = filepath.Join(p.cfg.Workdir, "pvc", v.PersistentVolumeClaim.ClaimName)
		case v.ConfigMap != nil:
			local = filepath.Join(podDir, "volumes", v.Name)
			if err := p.writeConfigMapVolume(ctx, job.Namespace, v.ConfigMap, local); err != nil {
				return nil, err
			}
		case v.Secret != nil:
			local = filepath.Join(podDir, "volumes", v.Name)
			if err := p.writeSecretVolume(ctx, job.Namespace, v.Secret, local); err != nil {
				return nil, err
			}
		case v.EmptyDir != nil:
			local = filepath.Join(podDir, "volumes", v.Name)
		default:
			return nil, fmt.Errorf("volume %s: only persistentVolumeClaim, configMap, secret and emptyDir volumes are played", v.Name)
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

// writeConfigMapVolume writes a ConfigMap's keys as files.
func (p *Player) writeConfigMapVolume(ctx context.Context, namespace string, src *corev1.ConfigMapVolumeSource, dir string) error {
	files, err := waitForVolumeSource(ctx, "configMap", src.Name, ptr.Deref(src.Optional, false), func() (map[string][]byte, error) {
		cm, err := p.cfg.Clientset.CoreV1().ConfigMaps(namespace).Get(ctx, src.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		files := map[string][]byte{}
		for k, v := range cm.Data {
			files[k] = []byte(v)
		}
		maps.Copy(files, cm.BinaryData)
		return files, nil
	})
	if err != nil {
		return err
	}
	return projectVolume("configMap", src.Name, files, src.Items, dir, 0o644)
}

// writeSecretVolume writes a Secret's keys as files readable by the owner
// only (the kubelet's defaultMode for the screener's signing key is 0440).
func (p *Player) writeSecretVolume(ctx context.Context, namespace string, src *corev1.SecretVolumeSource, dir string) error {
	files, err := waitForVolumeSource(ctx, "secret", src.SecretName, ptr.Deref(src.Optional, false), func() (map[string][]byte, error) {
		sec, err := p.cfg.Clientset.CoreV1().Secrets(namespace).Get(ctx, src.SecretName, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return sec.Data, nil
	})
	if err != nil {
		return err
	}
	return projectVolume("secret", src.SecretName, files, src.Items, dir, 0o400)
}

// waitForVolumeSource reads a volume's source, waiting a while for one that
// does not exist yet (a kubelet keeps the pod in ContainerCreating
// meanwhile); an optional source that is missing is empty.
func waitForVolumeSource(ctx context.Context, kind, name string, optional bool, get func() (map[string][]byte, error)) (map[string][]byte, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, err := get()
		switch {
		case err == nil:
			return files, nil
		case apierrors.IsNotFound(err) && optional:
			return nil, nil
		case !apierrors.IsNotFound(err) || time.Now().After(deadline):
			return nil, fmt.Errorf("%s volume %s: %w", kind, name, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// projectVolume writes files (or the keys items picks, under their paths)
// into dir.
func projectVolume(kind, name string, files map[string][]byte, items []corev1.KeyToPath, dir string, mode os.FileMode) error {
	if len(items) > 0 {
		picked := map[string][]byte{}
		for _, it := range items {
			data, ok := files[it.Key]
			if !ok {
				return fmt.Errorf("%s volume %s: no key %s", kind, name, it.Key)
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
		if err := os.WriteFile(target, data, mode); err != nil {
			return err
		}
	}
	return nil
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
