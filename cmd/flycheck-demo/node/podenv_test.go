package node

import (
	"slices"
	"testing"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpandKubeVars(t *testing.T) {
	vars := map[string]string{"JOB_COMPLETION_INDEX": "3", "A": "x$(B)", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"--shard":                            "--shard",
		"$(JOB_COMPLETION_INDEX)":            "3",
		"sj-shard-$(JOB_COMPLETION_INDEX)":   "sj-shard-3",
		"$(A)$(A)":                           "x$(B)x$(B)", // values are not expanded again
		"$(UNDEFINED)/x":                     "$(UNDEFINED)/x",
		"$$(JOB_COMPLETION_INDEX)":           "$(JOB_COMPLETION_INDEX)",
		"a$$b":                               "a$b",
		"$(EMPTY)-":                          "-",
		"cost $5":                            "cost $5",
		"open $(JOB_COMPLETION_INDEX":        "open $(JOB_COMPLETION_INDEX",
		"trailing $":                         "trailing $",
		"$()":                                "$()",
		"$(JOB_COMPLETION_INDEX)$(EMPTY)end": "3end",
	} {
		if got := expandKubeVars(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRewriteMountPath(t *testing.T) {
	mounts := []mountPoint{ // longest first, as mountVolumes sorts them
		{path: "/data/source/extra", local: "/w/pvc/extra"},
		{path: "/data/source", local: "/w/pvc/claims"},
		{path: "/rules", local: "/w/node/p/volumes/rules"},
	}
	for in, want := range map[string]string{
		"/data/source":                       "/w/pvc/claims",
		"/data/source/extract":               "/w/pvc/claims/extract",
		"/data/source/extra/x":               "/w/pvc/extra/x",
		"/data/sourcefile":                   "/data/sourcefile",
		"/rules/rules.yaml":                  "/w/node/p/volumes/rules/rules.yaml",
		"--rules=/rules/rules.yaml":          "--rules=/w/node/p/volumes/rules/rules.yaml",
		"--input":                            "--input",
		"relative/data/source":               "relative/data/source",
		"--note=/elsewhere":                  "--note=/elsewhere",
		"name=/rules/x (not a flag)":         "name=/rules/x (not a flag)",
		"/data/output/findings/shard-0-of-2": "/data/output/findings/shard-0-of-2",
	} {
		if got := rewriteMountPath(in, mounts); got != want {
			t.Errorf("rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerEnvResolvesFieldRefsAndExpansion(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "sj", Namespace: "demo-wuxi", UID: "u-1"}}
	job.Spec.Template.Labels = map[string]string{"app": "screen"}
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: flycheckv1.EnvCompletionIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
		{Name: flycheckv1.EnvPodNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		{Name: "RESULT", Value: "sj-shard-$(JOB_COMPLETION_INDEX)-$(LATER)"},
		{Name: "LATER", Value: "x"},
	}}
	env, err := containerEnv(job, c, 2, "sj-2-abcde")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range env {
		got[e.Name] = e.Value
	}
	want := map[string]string{flycheckv1.EnvCompletionIndex: "2", flycheckv1.EnvPodNamespace: "demo-wuxi", "APP": "screen",
		"RESULT": "sj-shard-2-$(LATER)", "LATER": "x"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// JOB_COMPLETION_INDEX is there even when the template does not say so.
	env, err = containerEnv(job, &corev1.Container{}, 5, "p")
	if err != nil || len(env) != 1 || env[0].Name != flycheckv1.EnvCompletionIndex || env[0].Value != "5" {
		t.Errorf("implicit completion index: %v %v", env, err)
	}
	// What the node cannot answer is an error, not a silent empty value.
	_, err = containerEnv(job, &corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIPs"}}}}}, 0, "p")
	if err == nil {
		t.Error("unsupported field reference accepted")
	}
}

// The process's argv: the command's flycheck dropped, variables expanded,
// then container paths mapped; any other program is refused.
func TestContainerArgs(t *testing.T) {
	env := []corev1.EnvVar{{Name: flycheckv1.EnvCompletionIndex, Value: "1"}}
	mounts := []mountPoint{{path: "/rules", local: "/w/rules"}}
	c := &corev1.Container{Command: []string{"/flycheck"}, Args: []string{"screen", "--rules=/rules/r.yaml", "--shard", "$(JOB_COMPLETION_INDEX)", "/rules"}}
	got, err := containerArgs(c, env, mounts)
	want := []string{"screen", "--rules=/w/rules/r.yaml", "--shard", "1", "/w/rules"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("argv %q (%v), want %q", got, err, want)
	}
	if got, err := containerArgs(&corev1.Container{Args: []string{"sample"}}, nil, nil); err != nil || !slices.Equal(got, []string{"sample"}) {
		t.Errorf("argv of args only %q (%v)", got, err)
	}
	if _, err := containerArgs(&corev1.Container{Command: []string{"/bin/sh", "-c", "true"}}, nil, nil); err == nil {
		t.Error("a command other than flycheck was accepted")
	}
}
