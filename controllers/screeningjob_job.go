package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// The shape of a screening Job, shared with the shard pods (cmd/flycheck
// screen --result-configmap) and the demo's node player.
const (
	// LabelScreeningJob marks the Job, the rules snapshot, the shard result
	// ConfigMaps and the frame ConfigMap of a ScreeningJob.
	LabelScreeningJob = "flycheck.medfund.io/screeningjob"
	// LabelShard carries a shard result's index.
	LabelShard = "flycheck.medfund.io/shard"
	// LabelRole tells the ConfigMaps of a ScreeningJob apart.
	LabelRole = "flycheck.medfund.io/role"
	RoleRules = "rules"
	RoleShard = "shard-result"
	RoleFrame = "frame"

	// ScreenerServiceAccount runs the shard pods; its only right is to
	// create ConfigMaps in its namespace (the shard results).
	ScreenerServiceAccount = "flycheck-screener"

	// Mount points inside a shard pod.
	SourceMountPath = "/data/source"
	OutputMountPath = "/data/output"
	RulesMountPath  = "/rules"
	RulesFileKey    = "rules.yaml"

	// Environment of a shard pod.
	EnvCompletionIndex   = "JOB_COMPLETION_INDEX"
	EnvPodNamespace      = "POD_NAMESPACE"
	EnvScreeningJobName  = "FLYCHECK_SCREENINGJOB_NAME"
	EnvScreeningJobUID   = "FLYCHECK_SCREENINGJOB_UID"
	completionIndexAnnot = "batch.kubernetes.io/job-completion-index"

	// ShardResultKey holds gzip(JSON {summary, stats}) in a shard result
	// ConfigMap's binaryData.
	ShardResultKey = "result.json.gz"
	// FrameKey holds the sampling frame CSV (docs/data-format.md).
	FrameKey = "frame.csv"

	// maxJobNameLength keeps "<job>-<index>-<suffix>" pod names and the
	// job-name label within 63 characters.
	maxJobNameLength = 52
)

// JobName is the Job of a ScreeningJob: its own name when short enough, else
// a prefix plus a hash, so it is deterministic either way.
func JobName(sjName string) string {
	if len(sjName) <= maxJobNameLength {
		return sjName
	}
	sum := sha256.Sum256([]byte(sjName))
	return sjName[:maxJobNameLength-11] + "-" + hex.EncodeToString(sum[:])[:10]
}

// ShardResultName is the ConfigMap a shard writes its result to.
func ShardResultName(sjName string, index int) string {
	return fmt.Sprintf("%s-shard-%d", sjName, index)
}

// FrameConfigMapName is the ConfigMap holding a ScreeningJob's merged frame.
func FrameConfigMapName(sjName string) string { return sjName + "-frame" }

// RulesConfigMapName carries the snapshot's content hash, so a name says
// which rules ran.
func RulesConfigMapName(sjName, digest string) string { return sjName + "-rules-" + digest[:10] }

// newScreeningJobBatchJob builds the Indexed Job that runs the shards of sj.
// Each pod screens shard JOB_COMPLETION_INDEX of spec.shards and writes its
// result ConfigMap; the pods pass the restricted Pod Security Standard.
func newScreeningJobBatchJob(sj *flycheckv1.ScreeningJob, image, rulesConfigMap string) *batchv1.Job {
	shards := sj.Spec.Shards
	if shards < 1 {
		shards = 1
	}
	args := []string{
		"screen",
		"--input", path.Join(SourceMountPath, sj.Spec.Source.Path),
		"--rules", path.Join(RulesMountPath, RulesFileKey),
		"--output", path.Join(OutputMountPath, sj.Spec.Output.Path),
		"--format", formatFlag(sj.Spec.Source.Format),
		"--encoding", encodingFlag(sj.Spec.Source.Encoding),
		"--shards", strconv.Itoa(int(shards)),
		"--shard", "$(" + EnvCompletionIndex + ")",
		"--result-configmap", sj.Name + "-shard-$(" + EnvCompletionIndex + ")",
	}
	if sj.Spec.CityCode != "" {
		args = append(args, "--city", sj.Spec.CityCode)
	}
	args = append(args, columnArgs(sj.Spec.Source.Columns)...)
	if w := sj.Spec.DataWindow; w != nil {
		args = append(args, "--from", string(w.From)[:10], "--to", string(w.To)[:10])
	}
	labels := childLabels(sj.Labels)
	labels[LabelScreeningJob] = sj.Name
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
			{Name: EnvCompletionIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: "metadata.annotations['" + completionIndexAnnot + "']"}}},
			{Name: EnvPodNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: EnvScreeningJobName, Value: sj.Name},
			{Name: EnvScreeningJobUID, Value: string(sj.UID)},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "source", MountPath: SourceMountPath, ReadOnly: true},
			{Name: "output", MountPath: OutputMountPath},
			{Name: "rules", MountPath: RulesMountPath, ReadOnly: true},
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
	if sj.Spec.Resources != nil {
		container.Resources = *sj.Spec.Resources
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
			ActiveDeadlineSeconds: sj.Spec.ActiveDeadlineSeconds,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: ScreenerServiceAccount,
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
	meta := metav1.ObjectMeta{Name: ScreenerServiceAccount, Namespace: namespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "flycheck-operator"}}
	sa := &corev1.ServiceAccount{ObjectMeta: meta}
	role := &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"},
	}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: meta,
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: ScreenerServiceAccount},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ScreenerServiceAccount, Namespace: namespace}},
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

// childLabels copies the campaign/phase/city labels onto what a parent creates.
func childLabels(parent map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{flycheckv1.LabelCampaign, flycheckv1.LabelPhase, flycheckv1.LabelCity} {
		if v, ok := parent[k]; ok {
			out[k] = v
		}
	}
	return out
}
