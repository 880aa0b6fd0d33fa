package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// maxShardResultBytes keeps a shard result inside a ConfigMap (1 MiB for
// the whole object, metadata included).
const maxShardResultBytes = 1000 * 1024

// resultConfigMapFlags is the --result-configmap mode of `flycheck screen`:
// a shard pod of a ScreeningJob reports its per-institution summary and
// statistics to the operator as a ConfigMap owned by the ScreeningJob.
type resultConfigMapFlags struct {
	name      string
	namespace string
}

func (f *resultConfigMapFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "result-configmap", "", "after a successful run, create this ConfigMap with the shard's summary and statistics "+
		"(for the operator; needs $"+flycheckv1.EnvScreeningJobName+" and $"+flycheckv1.EnvScreeningJobUID+", and the in-cluster config or $KUBECONFIG)")
	fs.StringVar(&f.namespace, "namespace", "", "namespace of --result-configmap (default $"+flycheckv1.EnvPodNamespace+")")
}

// shardReporter creates a shard result ConfigMap. It is prepared before the
// screening runs, so that a misconfigured pod fails at once rather than
// after screening its whole shard.
type shardReporter struct {
	clients   kubernetes.Interface
	name      string
	namespace string
	owner     metav1.OwnerReference
	log       io.Writer
}

// prepare checks the flags and the environment and builds the client; it
// returns nil when --result-configmap is not set.
func (f *resultConfigMapFlags) prepare(log io.Writer) (*shardReporter, error) {
	if f.name == "" {
		if f.namespace != "" {
			return nil, fmt.Errorf("--namespace is only used with --result-configmap")
		}
		return nil, nil
	}
	if errs := validation.IsDNS1123Subdomain(f.name); len(errs) > 0 {
		return nil, fmt.Errorf("--result-configmap %q: %s", f.name, strings.Join(errs, "; "))
	}
	ns := f.namespace
	if ns == "" {
		ns = strings.TrimSpace(os.Getenv(flycheckv1.EnvPodNamespace))
	}
	if ns == "" {
		return nil, fmt.Errorf("--result-configmap needs a namespace: set --namespace or $%s", flycheckv1.EnvPodNamespace)
	}
	sjName := strings.TrimSpace(os.Getenv(flycheckv1.EnvScreeningJobName))
	sjUID := strings.TrimSpace(os.Getenv(flycheckv1.EnvScreeningJobUID))
	if sjName == "" || sjUID == "" {
		return nil, fmt.Errorf("--result-configmap needs $%s and $%s (set by the operator in the shard pod)",
			flycheckv1.EnvScreeningJobName, flycheckv1.EnvScreeningJobUID)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("--result-configmap: no cluster configuration: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("--result-configmap: %w", err)
	}
	return &shardReporter{
		clients:   cs,
		name:      f.name,
		namespace: ns,
		log:       log,
		owner: metav1.OwnerReference{
			APIVersion: flycheckv1.GroupVersion.String(),
			Kind:       "ScreeningJob",
			Name:       sjName,
			UID:        types.UID(sjUID),
			Controller: ptr.To(true),
			// No BlockOwnerDeletion: setting it needs the right to update
			// the owner's finalizers, and the shard pod may only create
			// ConfigMaps.
		},
	}, nil
}

// configMap is the shard result object for res.
func (r *shardReporter) configMap(shard int, res *screening.Result) (*corev1.ConfigMap, error) {
	data, err := screening.EncodeShardResult(screening.ShardResult{Summary: res.Summary, Stats: res.Stats})
	if err != nil {
		return nil, err
	}
	if len(data) > maxShardResultBytes {
		return nil, fmt.Errorf("shard result is %d bytes compressed, more than a ConfigMap holds (%d): use more shards",
			len(data), maxShardResultBytes)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      r.name,
			Namespace: r.namespace,
			Labels: map[string]string{
				flycheckv1.LabelScreeningJob: r.owner.Name,
				flycheckv1.LabelRole:         flycheckv1.RoleShard,
				flycheckv1.LabelShard:        strconv.Itoa(shard),
			},
			OwnerReferences: []metav1.OwnerReference{r.owner},
		},
		// A shard's result is a fact of the run; nobody edits it.
		Immutable:  ptr.To(true),
		BinaryData: map[string][]byte{flycheckv1.ShardResultKey: data},
	}, nil
}

// report creates the shard result ConfigMap. One that already exists is
// the result of an earlier attempt of the same shard (the pod was retried
// after reporting); the pod's identity can only create, so it is accepted
// as is. Transient API errors are retried for about a minute.
func (r *shardReporter) report(ctx context.Context, shard int, res *screening.Result) error {
	cm, err := r.configMap(shard, res)
	if err != nil {
		return err
	}
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err = r.clients.CoreV1().ConfigMaps(r.namespace).Create(ctx, cm, metav1.CreateOptions{FieldManager: "flycheck-screen"})
		switch {
		case err == nil:
			fmt.Fprintf(r.log, "screen: reported shard %d to ConfigMap %s/%s (%d bytes)\n",
				shard, r.namespace, r.name, len(cm.BinaryData[flycheckv1.ShardResultKey]))
			return nil
		case apierrors.IsAlreadyExists(err):
			fmt.Fprintf(r.log, "screen: ConfigMap %s/%s exists: shard %d already reported\n", r.namespace, r.name, shard)
			return nil
		case !retriable(err) || attempt == 8:
			return fmt.Errorf("creating ConfigMap %s/%s: %w", r.namespace, r.name, err)
		}
		fmt.Fprintf(r.log, "screen: creating ConfigMap %s/%s: %v (retrying in %s)\n", r.namespace, r.name, err, delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// retriable says whether an API error may go away by itself: connection
// errors and the server's "try again" answers.
func retriable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsUnexpectedServerError(err)
}
