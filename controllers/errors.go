package controllers

import (
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
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
