package controllers

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// conflictRetry is the pause before retrying a reconcile whose status write
// lost a race with a newer version of the object.
const conflictRetry = 50 * time.Millisecond

// stallError is a problem only a human can fix; it becomes Stalled=True
// with its reason and message.
type stallError struct{ reason, msg string }

func (e *stallError) Error() string { return e.reason + ": " + e.msg }

func asStall(err error, target **stallError) bool {
	s, ok := errors.AsType[*stallError](err)
	if ok {
		*target = s
	}
	return ok
}

// finish turns a reconcile's outcome into what controller-runtime expects:
// a write conflict (our cached copy was older than the stored object) is no
// error but a prompt retry from the fresh object.
func finish(res ctrl.Result, err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	return res, err
}

// fetch reads the object a request names into obj. ok is false when there
// is nothing to reconcile: the object is gone, or it is being deleted (its
// children go with it through their owner references).
func fetch(ctx context.Context, c client.Reader, req ctrl.Request, obj client.Object) (ok bool, err error) {
	if err := c.Get(ctx, req.NamespacedName, obj); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return obj.GetDeletionTimestamp().IsZero(), nil
}
