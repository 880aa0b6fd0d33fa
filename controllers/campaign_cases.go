package controllers

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/cases"
)

// The Campaign's case roll-up: status.cities[] gains each city's case
// counts and sums (counts and sums only: which institutions are in the
// cases is for those who may read the cases).

// A case event wakes its Campaign after a delay, which gathers the events
// of a burst (an opening, an import of many returns) into one reconcile.
// The delay is twice what the campaign's last reconcile took, between
// minRollupDelay and maxRollupDelay: a campaign of 65 000 cases takes about
// 0.4 s to add up (more while the API server is busy), and with a fixed
// 250 ms its reconciles ran back to back through a whole opening, taking
// CPU from the API server the opening waits on. At most a third of the
// time thus goes to the roll-up, and a single change still shows in the
// Campaign well within 2 s.
const (
	minRollupDelay = 250 * time.Millisecond
	maxRollupDelay = time.Second
)

// rollupPacer remembers how long each campaign's last reconcile took.
type rollupPacer struct{ took sync.Map } // campaign name → time.Duration

func (p *rollupPacer) observe(campaign string, d time.Duration) { p.took.Store(campaign, d) }

func (p *rollupPacer) delay(campaign string) time.Duration {
	d := minRollupDelay
	if v, ok := p.took.Load(campaign); ok {
		d = max(d, 2*v.(time.Duration))
	}
	return min(d, maxRollupDelay)
}

func (p *rollupPacer) forget(campaign string) { p.took.Delete(campaign) }

// casesByCity lists the campaign's cases (from the cache, not copied: read
// only) by city. Only cases in a city's namespace count: a fly-check case
// in the province namespace counts for its city once handed off, as the
// city's own case.
func (r *CampaignReconciler) casesByCity(ctx context.Context, camp *flycheckv1.Campaign) (map[string][]*flycheckv1.InspectionCase, error) {
	var list flycheckv1.InspectionCaseList
	if err := r.List(ctx, &list, client.MatchingFields{caseCampaignIndex: camp.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	cityOf := cityNamespaces(camp)
	out := map[string][]*flycheckv1.InspectionCase{}
	for i := range list.Items {
		ic := &list.Items[i]
		if city, ok := cityOf[ic.Namespace]; ok {
			out[city] = append(out[city], ic)
		}
	}
	return out, nil
}

// caseTallies adds up each city's cases for the roll-up.
func caseTallies(byCity map[string][]*flycheckv1.InspectionCase) (map[string]*cases.Tally, error) {
	out := map[string]*cases.Tally{}
	for city, list := range byCity {
		t := &cases.Tally{}
		for _, ic := range list {
			e, err := caseEntry(ic)
			if err != nil {
				return nil, fmt.Errorf("InspectionCase %s/%s: %w", ic.Namespace, ic.Name, err)
			}
			if err := t.Add(e); err != nil {
				return nil, fmt.Errorf("adding up the cases of %s: %w", city, err)
			}
		}
		out[city] = t
	}
	return out, nil
}

// cityNamespaces maps each city's namespace to the city's name. The
// province namespace is left out even when a city shares it: what counts
// for a city is what is in its own namespace (a fly-check case counts once
// handed off, as the city's case).
func cityNamespaces(camp *flycheckv1.Campaign) map[string]string {
	out := map[string]string{}
	for _, c := range camp.Spec.Cities {
		if c.Namespace != camp.Spec.ProvinceNamespace {
			out[c.Namespace] = c.Name
		}
	}
	return out
}

// caseEntry is what a case contributes to its city's row, read from its
// spec (what was recorded) and its status (what the operator computed).
func caseEntry(ic *flycheckv1.InspectionCase) (cases.Entry, error) {
	e := cases.Entry{SelfReported: ic.Spec.SelfInspection != nil,
		Overdue: conditionReason(ic.Status.Conditions, flycheckv1.ConditionOverdue) == CaseReasonDeadlineMissed}
	if os := effectiveOnSite(ic, ic.Status.HandOff); os != nil {
		e.Inspected, e.WithFindings = os.To != "", len(os.Violations) > 0
	}
	if a := ic.Status.Amounts; a != nil {
		var err error
		for _, f := range []struct {
			to *cases.Fen
			v  flycheckv1.Money
		}{{&e.Found, a.Found}, {&e.Ordered, a.Ordered}, {&e.Recovered, a.Recovered}} {
			if *f.to, err = cases.ParseOptional(string(f.v)); err != nil {
				return e, err
			}
		}
	}
	return e, nil
}

// setCaseCounts writes a tally into a city's row (nil: no cases).
func setCaseCounts(row *flycheckv1.CityStatus, t *cases.Tally) {
	if t == nil {
		return
	}
	row.Cases, row.SelfReported, row.Inspected = int32(t.Cases), int32(t.SelfReported), int32(t.Inspected)
	row.WithFindings, row.Blank, row.Overdue = int32(t.WithFindings), int32(t.Blank), int32(t.Overdue)
	row.Found, row.Ordered, row.Recovered = money(t.Found), money(t.Ordered), money(t.Recovered)
	if pct, ok := t.ProblemDiscoveryPercent(); ok {
		p := int32(pct)
		row.ProblemDiscoveryPercent = &p
	}
}

// caseRollupHandler wakes a case's Campaign when what the case contributes
// to the roll-up changed, after the pacer's delay.
func caseRollupHandler(pacer *rollupPacer) handler.TypedEventHandler[client.Object, reconcile.Request] {
	return rollupHandler(pacer, func(ic *flycheckv1.InspectionCase) *flycheckv1.CampaignReference { return ic.Spec.CampaignRef },
		func(o, n *flycheckv1.InspectionCase) bool {
			eo, err1 := caseEntry(o)
			en, err2 := caseEntry(n)
			// Milestones read dates the counts do not (a report dated
			// later, a decision without money, an origin added).
			return err1 != nil || err2 != nil || eo != en || o.Namespace != n.Namespace ||
				!reflect.DeepEqual(milestoneCase(o, time.UTC), milestoneCase(n, time.UTC))
		})
}

// rollupHandler wakes the Campaign an object names (campaignOf) when the
// object appears or goes, or when changed says an update matters to the
// roll-up, after the pacer's delay, so that a burst of changes is one
// reconcile.
func rollupHandler[T client.Object](pacer *rollupPacer, campaignOf func(T) *flycheckv1.CampaignReference, changed func(old, new T) bool) handler.TypedEventHandler[client.Object, reconcile.Request] {
	enqueue := func(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if ref := campaignOf(o.(T)); ref != nil {
			q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Name: ref.Name}}, pacer.delay(ref.Name))
		}
	}
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if changed(e.ObjectOld.(T), e.ObjectNew.(T)) {
				enqueue(e.ObjectNew, q)
			}
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
	}
}
