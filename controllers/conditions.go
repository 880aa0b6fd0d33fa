package controllers

import (
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// conditionSetter writes the kstatus trio (Ready, Reconciling, Stalled) with
// the object's generation; metav1.Condition's lastTransitionTime only moves
// when a status actually flips.
type conditionSetter struct {
	conds      *[]metav1.Condition
	generation int64
	now        time.Time
}

func newConditionSetter(conds *[]metav1.Condition, generation int64, now time.Time) conditionSetter {
	return conditionSetter{conds: conds, generation: generation, now: now}
}

func (c conditionSetter) set(typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(c.conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: c.generation, LastTransitionTime: metav1.NewTime(c.now.Truncate(time.Second)),
	})
}

// ready: healthy and converged.
func (c conditionSetter) ready(reason, msg string) {
	c.set(flycheckv1.ConditionReady, metav1.ConditionTrue, reason, msg)
	c.set(flycheckv1.ConditionReconciling, metav1.ConditionFalse, ReasonUpToDate, "")
	c.set(flycheckv1.ConditionStalled, metav1.ConditionFalse, ReasonUpToDate, "")
}

// progressing: healthy, still working towards the desired state.
func (c conditionSetter) progressing(reason, msg string) {
	c.set(flycheckv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	c.set(flycheckv1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	c.set(flycheckv1.ConditionStalled, metav1.ConditionFalse, ReasonUpToDate, "")
}

// stalled: cannot progress without a human.
func (c conditionSetter) stalled(reason, msg string) {
	c.set(flycheckv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	c.set(flycheckv1.ConditionReconciling, metav1.ConditionFalse, reason, "")
	c.set(flycheckv1.ConditionStalled, metav1.ConditionTrue, reason, msg)
}

// conditionReason is the reason of condition typ when it is True, else "".
func conditionReason(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil && c.Status == metav1.ConditionTrue {
		return c.Reason
	}
	return ""
}

// timePtr converts to the second precision that status serialises with, so
// that comparing a freshly computed status with the stored one is exact.
func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}

// maxEventNote is the events.k8s.io limit on an event's note.
const maxEventNote = 1024

// eventNote cuts a note to the events API's limit on a rune boundary.
func eventNote(s string) string {
	if len(s) <= maxEventNote {
		return s
	}
	cut := maxEventNote - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
