package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// TestScreenerDefaultsApplyUnlessTheJobSaysOtherwise: the operator's
// defaults fill a ScreeningJob that names no resources or deadline; one that
// names them keeps its own.
func TestScreenerDefaultsApplyUnlessTheJobSaysOtherwise(t *testing.T) {
	def := DefaultScreenerDefaults()
	sj := testScreeningJob("ns", "defaults", 2, "rules")
	job := newScreeningJobBatchJob(sj, "img", "rules-cm", "key", def)
	c := job.Spec.Template.Spec.Containers[0]
	if c.Resources.Requests.Cpu().String() != "1" || c.Resources.Requests.Memory().String() != "1Gi" ||
		c.Resources.Limits.Cpu().String() != "2" || c.Resources.Limits.Memory().String() != "1Gi" {
		t.Errorf("default resources %+v", c.Resources)
	}
	if job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds != 21600 {
		t.Errorf("default deadline %v", job.Spec.ActiveDeadlineSeconds)
	}
	// The Job's resources are its own copy: changing them leaves the defaults.
	c.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("9Gi")
	if def.Resources.Limits.Memory().String() != "1Gi" {
		t.Error("the Job shares its resource list with the defaults")
	}

	sj.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")}}
	sj.Spec.ActiveDeadlineSeconds = ptr.To[int64](600)
	job = newScreeningJobBatchJob(sj, "img", "rules-cm", "key", def)
	c = job.Spec.Template.Spec.Containers[0]
	if c.Resources.Limits.Memory().String() != "4Gi" || c.Resources.Requests != nil || *job.Spec.ActiveDeadlineSeconds != 600 {
		t.Errorf("the ScreeningJob's own: %+v, deadline %d", c.Resources, *job.Spec.ActiveDeadlineSeconds)
	}
}
