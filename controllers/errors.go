package controllers

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// conflictRetry is the pause before retrying a reconcile whose status write
// lost a race with a newer version of the object.
const conflictRetry = 50 * time.Millisecond

// stallError is a problem only a human can fix; it becomes Stalled=True
// with its reason and message.
type stallError struct{ reason, msg string }

func (e *stallError) Error() string { return e.reason + ": " + e.msg }

// waitError is a missing dependency that can still appear by itself (a
// RuleSet not applied yet, a namespace Argo CD has not synced): the object
// says Reconciling with the reason naming it, not Stalled, since Flux and
// kstatus give up on Stalled. Whatever it waits for is watched.
type waitError struct{ reason, msg string }

func (e *waitError) Error() string { return e.reason + ": " + e.msg }

// blocked sets the conditions for a stall or a wait and reports whether err
// was one.
func blocked(err error, conds conditionSetter) bool {
	if s, ok := errors.AsType[*stallError](err); ok {
		conds.stalled(s.reason, s.msg)
		return true
	}
	if w, ok := errors.AsType[*waitError](err); ok {
		conds.progressing(w.reason, w.msg)
		return true
	}
	return false
}

// blockedNote is the event of a stall (Warning) or a wait (Normal).
func blockedNote(err error, action string) note {
	if s, ok := errors.AsType[*stallError](err); ok {
		return note{corev1.EventTypeWarning, s.reason, action, s.msg}
	}
	w, _ := errors.AsType[*waitError](err)
	return note{corev1.EventTypeNormal, w.reason, action, w.msg}
}

func asStall(err error, target **stallError) bool {
	s, ok := errors.AsType[*stallError](err)
	if ok {
		*target = s
	}
	return ok
}

// settle is finish for a reconciler whose object has conditions: an error
// that is neither a conflict nor a stall or wait (those are in status
// already) also goes into the object's conditions (Ready=False,
// Reconciling=True, reason ReconcileError), so it shows in status and not
// only in the log. The error is still returned: the request is retried with
// backoff, and the next successful reconcile replaces the conditions.
func settle(ctx context.Context, c client.Client, clk clock.PassiveClock, obj conditioned, res ctrl.Result, err error) (ctrl.Result, error) {
	res, err = finish(res, err)
	if err == nil {
		return res, nil
	}
	reconcileErrors.WithLabelValues(kindOf(obj)).Inc()
	before := obj.DeepCopyObject().(client.Object)
	conds := newConditionSetter(obj.StatusConditions(), obj.GetGeneration(), clk.Now())
	conds.progressing(ReasonReconcileError, "retrying after an error: "+err.Error())
	if perr := c.Status().Patch(ctx, obj, client.MergeFrom(before)); perr != nil {
		logf.FromContext(ctx).V(1).Info("could not record the reconcile error in status", "error", perr.Error())
	}
	return res, err
}

// conditioned is an object of ours with status conditions.
type conditioned interface {
	client.Object
	StatusConditions() *[]metav1.Condition
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
