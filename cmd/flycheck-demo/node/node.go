// Package node is the demo's node: it plays the parts of a cluster that
// envtest leaves out. envtest is a bare kube-apiserver and etcd, with no
// kube-controller-manager (so no Job controller) and no kubelet, so the
// Indexed Jobs the operator creates for ScreeningJobs would never run.
//
// A Player stands in for both, for the demo and its tests only (the
// operator never imports it): it watches Jobs labelled
// flycheck.medfund.io/screeningjob and, for each index, records a Pod, runs
// the container as a local process of the flycheck binary with the
// container's arguments and environment and its volumes mapped to local
// directories, and writes the Pods' and the Job's status the way the
// kubelet and the Job controller would.
//
//   - jobcontroller.go: the Job controller's part, counting pods and writing
//     the Job's status and its final conditions;
//   - kubelet.go: the kubelet's part, a Pod's life and its process;
//   - podenv.go: what the process sees, the container's environment,
//     arguments and mount paths resolved as Kubernetes resolves them.
package node

import (
	"context"
	"sync"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// Name is the node the player's pods are bound to.
const Name = "flycheck-demo-node"

// fieldManager writes every object the player changes.
const fieldManager = "flycheck-demo-node"

// Config says what a Player runs, and where.
type Config struct {
	// Clientset talks to the cluster as the Job controller and the kubelet
	// would (an identity allowed to write Pods and Jobs' status).
	Clientset kubernetes.Interface
	// Flycheck is the binary run for every container: the image's
	// entrypoint is flycheck, and the player runs nothing else.
	Flycheck string
	// Workdir holds pvc/<claim>/ (PersistentVolumeClaims), logs/ and the
	// pods' scratch volumes.
	Workdir string
	// Kubeconfig is the pods' KUBECONFIG (there is no in-cluster config).
	Kubeconfig string
	// Impersonate makes each pod act as its ServiceAccount (the kubeconfig
	// must be allowed to impersonate), so it has the rights a pod in a
	// cluster would have, and no more.
	Impersonate bool
	// Slots bounds the processes running at once, over all Jobs (the
	// node has as many slots as cores); at least 1.
	Slots int
	// Say prints a line of what the node does.
	Say func(format string, args ...any)
}

// Player runs the screening Jobs of a control plane without nodes.
type Player struct {
	cfg   Config
	slots chan struct{}

	wg      sync.WaitGroup
	mu      sync.Mutex
	seen    map[types.UID]bool
	running int
	peak    int // most processes ever running at once (tests)
}

// New makes a Player; Run starts it.
func New(cfg Config) *Player {
	cfg.Slots = max(cfg.Slots, 1)
	if cfg.Say == nil {
		cfg.Say = func(string, ...any) {}
	}
	return &Player{cfg: cfg, slots: make(chan struct{}, cfg.Slots), seen: map[types.UID]bool{}}
}

// PeakProcesses is the most processes that ever ran at once.
func (p *Player) PeakProcesses() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// Run watches screening Jobs in all namespaces and plays each until ctx
// ends; it returns when every process it started has exited.
func (p *Player) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(p.cfg.Clientset, 0,
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
func (p *Player) consider(ctx context.Context, obj any) {
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
		newJobRun(p, job.DeepCopy()).play(ctx)
	}()
}

// takeSlot waits for a free core, as a Pending pod waits for a node; it
// reports false if ctx ends first. release gives the core back.
func (p *Player) takeSlot(ctx context.Context) (release func(), ok bool) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false
	}
	p.mu.Lock()
	p.running++
	p.peak = max(p.peak, p.running)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
		<-p.slots
	}, true
}

func jobFinished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
