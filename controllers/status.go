package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patchStatus makes *current (a pointer to obj's status field) equal to
// desired and patches obj's status subresource, but only when the two
// differ: an unchanged status writes nothing, so idle reconciles cost no API
// writes and no resourceVersion churn. The patch carries obj's
// resourceVersion (optimistic lock): a reconcile working from a stale cached
// copy gets a Conflict instead of overwriting a newer status.
func patchStatus[S any](ctx context.Context, c client.Client, obj client.Object, current, desired *S) (written bool, err error) {
	if equality.Semantic.DeepEqual(current, desired) {
		return false, nil
	}
	before := obj.DeepCopyObject().(client.Object)
	*current = *desired
	if err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, err
	}
	return true, nil
}
