package controllers

import (
	"maps"
	"path"
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// Mount points inside a shard pod.
const (
	SourceMountPath = "/data/source"
	OutputMountPath = "/data/output"
	RulesMountPath  = "/rules"
)

// ScreenerDefaults are the resources and the deadline of screening pods
// whose ScreeningJob names none (operator flags --screener-*). Namespaces
// with a ResourceQuota reject pods without requests and limits.
type ScreenerDefaults struct {
	Resources             corev1.ResourceRequirements
	ActiveDeadlineSeconds *int64
}

// DefaultScreenerDefaults: the screener's soft heap limit is 768 MiB
// (--memory-limit) and a benchmark shard peaks at ~520 MiB RSS
// (docs/screening.md), so 1 GiB requested and as limit; one CPU requested,
// two allowed for decoding bursts. Six hours bound a stuck Job: the
// benchmark's 20 M lines take minutes per shard.
func DefaultScreenerDefaults() ScreenerDefaults {
	return ScreenerDefaults{
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
		ActiveDeadlineSeconds: ptr.To[int64](6 * 3600),
	}
}

// newScreeningJobBatchJob builds the Indexed Job that runs the shards of sj.
// Each pod screens shard JOB_COMPLETION_INDEX of spec.shards and writes its
// result ConfigMap; the pods pass the restricted Pod Security Standard.
// The ScreeningJob's resources and deadline win over the defaults.
func newScreeningJobBatchJob(sj *flycheckv1.ScreeningJob, image, rulesConfigMap, signingSecret string, defaults ScreenerDefaults) *batchv1.Job {
	shards := sj.Spec.Shards
	if shards < 1 {
		shards = 1
	}
	args := []string{
		"screen",
		"--input", path.Join(SourceMountPath, sj.Spec.Source.Path),
		"--rules", path.Join(RulesMountPath, flycheckv1.RulesFileKey),
		// The output path is this ScreeningJob's own: a retried shard
		// replaces what an earlier attempt of it left.
		"--output", path.Join(OutputMountPath, sj.Spec.Output.Path), "--overwrite",
		"--format", formatFlag(sj.Spec.Source.Format),
		"--encoding", encodingFlag(sj.Spec.Source.Encoding),
		"--shards", strconv.Itoa(int(shards)),
		"--shard", "$(" + flycheckv1.EnvCompletionIndex + ")",
		"--report", "--signing-key", path.Join(flycheckv1.SigningKeyMountPath, flycheckv1.SigningKeyFileKey),
	}
	if sj.Spec.CityCode != "" {
		args = append(args, "--city", sj.Spec.CityCode)
	}
	args = append(args, columnArgs(sj.Spec.Source.Columns)...)
	if w := sj.Spec.DataWindow; w != nil {
		args = append(args, "--from", string(w.From)[:10], "--to", string(w.To)[:10])
	}
	labels := childLabels(sj.Labels)
	labels[flycheckv1.LabelScreeningJob] = sj.Name
	container := corev1.Container{
		Name:  "screen",
		Image: image,
		Args:  args,
		// The screener reports errors on stderr; this puts the last of it in
		// the pod's termination message, which becomes the shard's failure
		// reason in the ScreeningJob's status.
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		Env: []corev1.EnvVar{
			// The Job controller injects this too; declaring it makes the
			// $(JOB_COMPLETION_INDEX) in args explicit and lets a node
			// player run the template as written.
			{Name: flycheckv1.EnvCompletionIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']"}}},
			{Name: flycheckv1.EnvPodNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: flycheckv1.EnvScreeningJobName, Value: sj.Name},
			{Name: flycheckv1.EnvScreeningJobUID, Value: string(sj.UID)},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "source", MountPath: SourceMountPath, ReadOnly: true},
			{Name: "output", MountPath: OutputMountPath},
			{Name: "rules", MountPath: RulesMountPath, ReadOnly: true},
			{Name: "signing-key", MountPath: flycheckv1.SigningKeyMountPath, ReadOnly: true},
			{Name: "tmp", MountPath: "/tmp"},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			RunAsNonRoot:             ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	container.Resources = *defaults.Resources.DeepCopy()
	if sj.Spec.Resources != nil {
		container.Resources = *sj.Spec.Resources
	}
	deadline := defaults.ActiveDeadlineSeconds
	if sj.Spec.ActiveDeadlineSeconds != nil {
		deadline = sj.Spec.ActiveDeadlineSeconds
	}
	backoff := sj.Spec.BackoffLimitPerIndex
	if backoff == nil {
		backoff = ptr.To[int32](1)
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: JobName(sj.Name), Namespace: sj.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode:        ptr.To(batchv1.IndexedCompletion),
			Completions:           ptr.To(shards),
			Parallelism:           ptr.To(shards),
			BackoffLimitPerIndex:  backoff,
			ActiveDeadlineSeconds: deadline,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: flycheckv1.ScreenerServiceAccount,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](65532),
						RunAsGroup:     ptr.To[int64](65532),
						FSGroup:        ptr.To[int64](65532),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{container},
					Volumes: []corev1.Volume{
						{Name: "source", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
							ClaimName: sj.Spec.Source.PersistentVolumeClaim, ReadOnly: true}}},
						{Name: "output", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
							ClaimName: sj.Spec.Output.PersistentVolumeClaim}}},
						{Name: "rules", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: rulesConfigMap}}}},
						{Name: "signing-key", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: signingSecret, DefaultMode: ptr.To[int32](0o440)}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}
}

// screenerRBAC is the per-namespace identity of shard pods: a ServiceAccount
// whose Role allows creating ConfigMaps and nothing else (RBAC cannot limit
// create by name; the controller only reads results carrying its labels and
// the expected name).
func screenerRBAC(namespace string) (*corev1.ServiceAccount, *rbacv1.Role, *rbacv1.RoleBinding) {
	meta := metav1.ObjectMeta{Name: flycheckv1.ScreenerServiceAccount, Namespace: namespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "flycheck-operator"}}
	sa := &corev1.ServiceAccount{ObjectMeta: meta}
	role := &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"},
	}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: meta,
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: flycheckv1.ScreenerServiceAccount},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: flycheckv1.ScreenerServiceAccount, Namespace: namespace}},
	}
	return sa, role, binding
}

func formatFlag(f flycheckv1.DataFormat) string {
	if f == flycheckv1.FormatCSV {
		return "csv"
	}
	return "parquet"
}

func encodingFlag(e flycheckv1.Encoding) string {
	if e == "" || e == flycheckv1.EncodingAuto {
		return "auto"
	}
	return string(e)
}

// columnArgs renders source.columns as `flycheck screen` flags, in a fixed
// order (tables and names sorted) so that the Job is deterministic.
func columnArgs(c *flycheckv1.ColumnMapping) []string {
	if c == nil {
		return nil
	}
	var args []string
	if c.Profile != "" {
		args = append(args, "--column-profile", c.Profile)
	}
	for _, t := range slices.Sorted(maps.Keys(c.Tables)) {
		for _, from := range slices.Sorted(maps.Keys(c.Tables[t])) {
			args = append(args, "--column", t+"."+from+"="+string(c.Tables[t][from]))
		}
	}
	return args
}
