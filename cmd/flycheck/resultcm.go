package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// maxShardResultBytes keeps a shard result inside a ConfigMap (1 MiB for
// the whole object, metadata included).
const maxShardResultBytes = 1000 * 1024

// resultConfigMapFlags is the --report mode of `flycheck screen`: a shard
// pod of a ScreeningJob reports its per-institution summary and statistics
// to the operator as a signed ConfigMap owned by the ScreeningJob, under a
// name the API server generates (docs/screening.md, trust model).
type resultConfigMapFlags struct {
	report     bool
	namespace  string
	signingKey string
}

func (f *resultConfigMapFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.report, "report", false, "after a successful run, report the shard's summary and statistics to the operator as a signed ConfigMap "+
		"(in a ScreeningJob's pod: needs $"+flycheckv1.EnvScreeningJobName+", $"+flycheckv1.EnvScreeningJobUID+", the signing key and the in-cluster config or $KUBECONFIG)")
	fs.StringVar(&f.namespace, "namespace", "", "namespace of the --report ConfigMap (default $"+flycheckv1.EnvPodNamespace+")")
	fs.StringVar(&f.signingKey, "signing-key", path.Join(flycheckv1.SigningKeyMountPath, flycheckv1.SigningKeyFileKey),
		"file holding the ScreeningJob's signing key (--report)")
}

// shardReporter creates a shard result ConfigMap. It is prepared before the
// screening runs, so that a misconfigured pod fails at once rather than
// after screening its whole shard.
type shardReporter struct {
	clients   kubernetes.Interface
	namespace string
	owner     metav1.OwnerReference
	key       []byte
	log       io.Writer
}

// prepare checks the flags and the environment and builds the client; it
// returns nil when --report is not set.
func (f *resultConfigMapFlags) prepare(log io.Writer) (*shardReporter, error) {
	if !f.report {
		if f.namespace != "" {
			return nil, fmt.Errorf("--namespace is only used with --report")
		}
		return nil, nil
	}
	ns := f.namespace
	if ns == "" {
		ns = strings.TrimSpace(os.Getenv(flycheckv1.EnvPodNamespace))
	}
	if ns == "" {
		return nil, fmt.Errorf("--report needs a namespace: set --namespace or $%s", flycheckv1.EnvPodNamespace)
	}
	sjName := strings.TrimSpace(os.Getenv(flycheckv1.EnvScreeningJobName))
	sjUID := strings.TrimSpace(os.Getenv(flycheckv1.EnvScreeningJobUID))
	if sjName == "" || sjUID == "" {
		return nil, fmt.Errorf("--report needs $%s and $%s (set by the operator in the shard pod)",
			flycheckv1.EnvScreeningJobName, flycheckv1.EnvScreeningJobUID)
	}
	key, err := os.ReadFile(f.signingKey)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("--report needs the ScreeningJob's signing key (mounted by the operator at %s): %v", f.signingKey, err)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("--report: no cluster configuration: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("--report: %w", err)
	}
	return &shardReporter{
		clients:   cs,
		namespace: ns,
		key:       key,
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
			GenerateName: controllers.ShardResultPrefix(r.owner.Name, shard),
			Namespace:    r.namespace,
			Labels: map[string]string{
				flycheckv1.LabelScreeningJob: r.owner.Name,
				flycheckv1.LabelRole:         flycheckv1.RoleShard,
				flycheckv1.LabelShard:        strconv.Itoa(shard),
			},
			OwnerReferences: []metav1.OwnerReference{r.owner},
		},
		// A shard's result is a fact of the run; nobody edits it.
		Immutable: ptr.To(true),
		BinaryData: map[string][]byte{
			flycheckv1.ShardResultKey:    data,
			flycheckv1.ShardSignatureKey: screening.SignShardResult(r.key, string(r.owner.UID), shard, data),
		},
	}, nil
}

// report creates the shard result ConfigMap. Its name is generated, so a
// retried pod reports again under another name; the operator uses one of
// the equal results. Transient API errors are retried for about a minute.
func (r *shardReporter) report(ctx context.Context, shard int, res *screening.Result) error {
	cm, err := r.configMap(shard, res)
	if err != nil {
		return err
	}
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		created, err := r.clients.CoreV1().ConfigMaps(r.namespace).Create(ctx, cm, metav1.CreateOptions{FieldManager: "flycheck-screen"})
		switch {
		case err == nil:
			fmt.Fprintf(r.log, "screen: reported shard %d to ConfigMap %s/%s (%d bytes, signed)\n",
				shard, r.namespace, created.Name, len(cm.BinaryData[flycheckv1.ShardResultKey]))
			return nil
		case !retriable(err) || attempt == 8:
			return fmt.Errorf("creating the shard result ConfigMap in %s: %w", r.namespace, err)
		}
		fmt.Fprintf(r.log, "screen: creating the shard result ConfigMap in %s: %v (retrying in %s)\n", r.namespace, err, delay)
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
