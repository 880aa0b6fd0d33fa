package node

// What a container's process sees: its environment, arguments and mount
// paths, resolved the way Kubernetes resolves them, and the kubeconfig
// standing in for its ServiceAccount token.

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// mountPoint maps a path inside the container to a local directory.
type mountPoint struct{ path, local string }

// containerEnv resolves the container's environment as the kubelet does:
// in order, each value expanding $(VAR) of the variables before it, field
// references read from the pod the Job controller would create. An
// Indexed Job's pods always get JOB_COMPLETION_INDEX.
func containerEnv(job *batchv1.Job, c *corev1.Container, idx int, podName string) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	lookup := envLookup(&out)
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

// envLookup finds a variable in *env, the last definition winning.
func envLookup(env *[]corev1.EnvVar) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for i := len(*env) - 1; i >= 0; i-- {
			if (*env)[i].Name == name {
				return (*env)[i].Value, true
			}
		}
		return "", false
	}
}

// containerArgs is the argv of the flycheck process: command and args with
// $(VAR) expanded from env and container paths mapped to local ones. The
// node runs only flycheck: a command naming another program is an error.
func containerArgs(c *corev1.Container, env []corev1.EnvVar, mounts []mountPoint) ([]string, error) {
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(c.Command) > 0 {
		if path.Base(c.Command[0]) != "flycheck" {
			return nil, fmt.Errorf("the demo node only runs flycheck, not %q", c.Command[0])
		}
		argv = argv[1:]
	}
	lookup := envLookup(&env)
	for i, a := range argv {
		argv[i] = rewriteMountPath(expandKubeVars(a, lookup), mounts)
	}
	return argv, nil
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
		return Name, nil
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
func processEnv(env []corev1.EnvVar, mounts []mountPoint, podDir, kubeconfig string) []string {
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

// serviceAccountKubeconfig writes, in podDir, a copy of kubeconfig that
// acts as the pod's ServiceAccount, standing in for its mounted token.
func serviceAccountKubeconfig(kubeconfig, namespace, serviceAccount, podDir string) (string, error) {
	kc, err := clientcmd.LoadFromFile(kubeconfig)
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
