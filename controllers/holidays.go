package controllers

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/calendar"
)

// HolidayCalendar is the working-day calendar the case deadlines are
// counted on: the built-in years of internal/calendar plus the years listed
// in the holiday ConfigMap (flycheck-holidays in the operator namespace,
// key holidays.csv). It reads the ConfigMap from the API server the first
// time it is asked and again after Invalidate (the InspectionCase controller
// watches the ConfigMap's metadata and calls it), never on every reconcile.
type HolidayCalendar struct {
	Reader    client.Reader
	Namespace string

	mu    sync.Mutex
	valid bool
	cal   *calendar.Calendar
	err   error
}

// NewHolidayCalendar reads the ConfigMap in namespace through r (an
// uncached reader: the manager caches no ConfigMap contents).
func NewHolidayCalendar(r client.Reader, namespace string) *HolidayCalendar {
	return &HolidayCalendar{Reader: r, Namespace: namespace}
}

// Get returns the calendar. A ConfigMap that does not parse is an error
// the cases report (they keep waiting, Reconciling, until it is fixed).
func (h *HolidayCalendar) Get(ctx context.Context) (*calendar.Calendar, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.valid {
		return h.cal, h.err
	}
	var cm corev1.ConfigMap
	err := h.Reader.Get(ctx, types.NamespacedName{Namespace: h.Namespace, Name: flycheckv1.HolidayConfigMap}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		h.cal, h.err = calendar.Builtin(), nil
	case err != nil:
		return nil, err // an API failure: retried, not remembered
	default:
		h.cal, h.err = calendar.FromConfig(cm.Data[flycheckv1.HolidayConfigMapKey])
		if h.err != nil {
			h.err = fmt.Errorf("ConfigMap %s/%s, key %s: %w", h.Namespace, flycheckv1.HolidayConfigMap, flycheckv1.HolidayConfigMapKey, h.err)
		}
	}
	h.valid = true
	return h.cal, h.err
}

// Invalidate makes the next Get read the ConfigMap again.
func (h *HolidayCalendar) Invalidate() {
	h.mu.Lock()
	h.valid = false
	h.mu.Unlock()
}

// isHolidayConfigMap tells the holiday ConfigMap's events apart.
func (h *HolidayCalendar) isHolidayConfigMap(o client.Object) bool {
	return o.GetNamespace() == h.Namespace && o.GetName() == flycheckv1.HolidayConfigMap
}
