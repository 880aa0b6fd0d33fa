package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// CaseOpenerReconciler opens the InspectionCases of a Campaign's phases:
//   - a phase with selfInspection, once started: one case per institution of
//     each city's frame in scope (flagged by the city's latest screening
//     before the phase, or the whole frame with scope All), in the city's
//     namespace, with a Screening origin carrying the institution's leads;
//   - a Recheck phase, once a city's sample is drawn: one case per drawn
//     institution in the city's namespace (origin Recheck, the draw's
//     reason);
//   - a FlyCheck phase, once the province sample is drawn: one case per
//     drawn institution in the province namespace, out of the cities'
//     sight until the province hands it off.
//
// An institution brought in again by a later phase keeps its one case per
// namespace (the name is <campaign>-<code>), which gains an origin. Each
// opening is done once and recorded (Campaign status.casesOpened; the
// fly-check's on its sample): a case a person deletes is not brought back.
//
// Cases are Campaign children (DESIGN §8), but they are opened by this
// reconciler rather than by the Campaign reconciler: a Jiangsu-size
// self-inspection opens 65 000 cases, and doing that inside the Campaign's
// reconcile would hold its phase transitions (observed within 1 s of the
// boundary) for minutes. One controller per concern, as cert-manager
// splits its Certificate controllers: the Campaign reconciler keeps the
// schedule and the counts, this one the openings.
type CaseOpenerReconciler struct {
	client.Client
	// APIReader reads frame ConfigMaps and shard results (never cached) and
	// re-reads cases after a conflict.
	APIReader client.Reader
	Clock     clock.PassiveClock
	Recorder  events.EventRecorder
	Holidays  *HolidayCalendar
	// Workers creating cases in parallel; 0 means 32 (measured: 71 cases/s
	// with 8, 113 with 32 on a 2 600-case opening; the API server waits on
	// etcd, so more requests in flight keep it busy).
	Workers int
	// OperatorNamespace holds the signing key: leads come from verified
	// shard results only.
	OperatorNamespace string

	// verifier reads shard results as the ScreeningJob controller does,
	// keeping the signing key once read.
	verifierOnce sync.Once
	verifier     *ScreeningJobReconciler
}

// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=campaigns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectionsamples,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=screeningjobs,verbs=get;list;watch
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectioncases,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=flycheck.medfund.io,resources=inspectioncases/status,verbs=get;update;patch

func (r *CaseOpenerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var camp flycheckv1.Campaign
	if ok, err := fetch(ctx, r.Client, req, &camp); !ok {
		return ctrl.Result{}, err
	}
	return finish(r.reconcile(ctx, &camp))
}

func (r *CaseOpenerReconciler) reconcile(ctx context.Context, camp *flycheckv1.Campaign) (ctrl.Result, error) {
	if camp.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	now := r.Clock.Now()
	for i := range camp.Spec.Phases {
		ph := &camp.Spec.Phases[i]
		if phaseState(camp, ph.Name) == flycheckv1.PhasePending {
			continue
		}
		var err error
		switch {
		case ph.SelfInspection != nil:
			err = r.openPerCity(ctx, camp, ph, now, r.selfInspectionSeeds)
		case ph.Sampling != nil && ph.Sampling.Purpose == flycheckv1.PurposeRecheck:
			err = r.openPerCity(ctx, camp, ph, now, r.recheckSeeds)
		case ph.Sampling != nil && ph.Sampling.Purpose == flycheckv1.PurposeFlyCheck:
			err = r.openFlyCheck(ctx, camp, ph, now)
		}
		if err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// recordOpened adds key to the Campaign's status.casesOpened, with the
// opening's event. The Campaign reconciler writes the same status (its
// roll-up changes while cases open), so a conflict is expected: the write
// is retried on the fresh object rather than redoing the opening.
func (r *CaseOpenerReconciler) recordOpened(ctx context.Context, camp *flycheckv1.Campaign, key string, n note) error {
	for attempt := 0; ; attempt++ {
		if slices.Contains(camp.Status.CasesOpened, key) {
			return nil
		}
		status := camp.Status.DeepCopy()
		status.CasesOpened = append(status.CasesOpened, key)
		_, err := writeStatus(ctx, r.Client, r.Recorder, camp, &camp.Status, status, n)
		if !apierrors.IsConflict(err) || attempt == 4 {
			return err
		}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(camp), camp); err != nil {
			return err
		}
	}
}

// phaseState is the phase's state as the Campaign reconciler recorded it.
func phaseState(camp *flycheckv1.Campaign, name string) flycheckv1.PhaseState {
	for _, p := range camp.Status.Phases {
		if p.Name == name {
			return p.State
		}
	}
	return flycheckv1.PhasePending
}

// seedsFunc returns a city's seeds for a phase, or ok=false while their
// source (the frame, the draw) is not ready.
type seedsFunc func(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase, city flycheckv1.City, now time.Time) ([]caseSeed, bool, error)

// openPerCity opens a phase's cases in every city whose source is ready:
// first it creates all their cases, then city by city it writes each case's
// status and records the city's opening as soon as it is done.
func (r *CaseOpenerReconciler) openPerCity(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase,
	now time.Time, seeds seedsFunc) error {
	type cityOpening struct {
		key   string
		city  flycheckv1.City
		seeds []caseSeed
	}
	var ready []cityOpening
	var all []caseSeed
	for _, city := range camp.Spec.Cities {
		key := ph.Name + "/" + city.Name
		if slices.Contains(camp.Status.CasesOpened, key) {
			continue
		}
		list, ok, err := seeds(ctx, camp, ph, city, now)
		if err != nil {
			return err
		}
		if !ok {
			continue // its source is not ready; its event brings us back
		}
		ready = append(ready, cityOpening{key, city, list})
		all = append(all, list...)
	}
	created, err := r.createAll(ctx, camp, camp, ph.Name, all)
	if err != nil {
		return err
	}
	for _, o := range ready {
		counts, err := r.openAll(ctx, camp, o.seeds, created, now)
		if err != nil {
			return err
		}
		if err := r.recordOpened(ctx, camp, o.key, note{corev1.EventTypeNormal, CaseReasonCasesOpened, "Open/" + o.key,
			fmt.Sprintf("Phase %s, %s: %s in namespace %s", ph.Name, o.city.Name, counts, o.city.Namespace)}); err != nil {
			return err
		}
	}
	return nil
}

// openFlyCheck opens the province sample's cases in the province namespace
// and records it on the sample, where the cities cannot read it.
func (r *CaseOpenerReconciler) openFlyCheck(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase, now time.Time) error {
	var is flycheckv1.InspectionSample
	err := r.Get(ctx, types.NamespacedName{Namespace: camp.Spec.ProvinceNamespace, Name: FlyCheckSampleName(camp.Name, ph.Name)}, &is)
	if apierrors.IsNotFound(err) || (err == nil && (is.Status.DrawnAt == nil || is.Annotations[flycheckv1.AnnotationCasesOpened] != "")) {
		return nil
	}
	if err != nil {
		return err
	}
	var seeds []caseSeed
	for _, s := range is.Status.Selected {
		city, _ := cityByCode(camp, s.CityCode)
		seeds = append(seeds, caseSeed{namespace: is.Namespace, city: city.Name, institution: selectedInstitution(s),
			origin: flycheckv1.CaseOrigin{Type: flycheckv1.OriginFlyCheck, Phase: ph.Name, Sample: is.Name, Reason: s.Reason, At: *timePtr(now)}})
	}
	created, err := r.createAll(ctx, camp, &is, ph.Name, seeds)
	if err != nil {
		return err
	}
	counts, err := r.openAll(ctx, camp, seeds, created, now)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(is.DeepCopy())
	if is.Annotations == nil {
		is.Annotations = map[string]string{}
	}
	is.Annotations[flycheckv1.AnnotationCasesOpened] = now.UTC().Format(time.RFC3339)
	if err := r.Patch(ctx, &is, patch); err != nil {
		return err
	}
	emit(ctx, r.Recorder, &is, note{corev1.EventTypeNormal, CaseReasonCasesOpened, "Open", fmt.Sprintf("Fly-check %s: %s in namespace %s", ph.Name, counts, is.Namespace)})
	return nil
}

func selectedInstitution(s flycheckv1.SelectedInstitution) flycheckv1.CaseInstitution {
	return flycheckv1.CaseInstitution{Code: s.Code, Name: s.Name, CityCode: s.CityCode, Level: s.Level}
}

// recheckSeeds are the institutions of the city's drawn recheck sample.
func (r *CaseOpenerReconciler) recheckSeeds(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase, city flycheckv1.City, now time.Time) ([]caseSeed, bool, error) {
	var is flycheckv1.InspectionSample
	err := r.Get(ctx, types.NamespacedName{Namespace: city.Namespace, Name: ChildName(camp.Name, ph.Name, city.Name)}, &is)
	if apierrors.IsNotFound(err) || (err == nil && is.Status.DrawnAt == nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	seeds := make([]caseSeed, 0, len(is.Status.Selected))
	for _, s := range is.Status.Selected {
		seeds = append(seeds, caseSeed{namespace: city.Namespace, city: city.Name, institution: selectedInstitution(s),
			origin: flycheckv1.CaseOrigin{Type: flycheckv1.OriginRecheck, Phase: ph.Name, Sample: is.Name, Reason: s.Reason, At: *timePtr(now)}})
	}
	return seeds, true, nil
}

// selfInspectionSeeds are the institutions of the city's frame in scope,
// with their screening leads when the frame comes from a ScreeningJob.
func (r *CaseOpenerReconciler) selfInspectionSeeds(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase, city flycheckv1.City, now time.Time) ([]caseSeed, bool, error) {
	src := cityFrameSource(camp, ph, city)
	frame, problems, err := FrameResolver{ScreeningJobs: r.Client, ConfigMaps: r.APIReader}.Resolve(ctx, city.Namespace, []flycheckv1.FrameSource{src})
	if err != nil || len(problems) > 0 {
		if len(problems) > 0 {
			logf.FromContext(ctx).V(1).Info("self-inspection frame not ready", "city", city.Name, "problem", problems[0].Message)
		}
		return nil, false, err
	}
	leads, err := r.screeningLeads(ctx, city.Namespace, src.ScreeningJob)
	if err != nil {
		return nil, false, err
	}
	var seeds []caseSeed
	for _, in := range frame.Institutions {
		if ph.SelfInspection.Scope != flycheckv1.ScopeAll && in.Risk <= 0 {
			continue
		}
		o := flycheckv1.CaseOrigin{Type: flycheckv1.OriginScreening, Phase: ph.Name, At: *timePtr(now)}
		if l, ok := leads[in.Code]; ok {
			o.Leads, o.LeadsAmount = l.Findings, flycheckv1.Money(l.AmountAtRisk)
		}
		seeds = append(seeds, caseSeed{namespace: city.Namespace, city: city.Name, origin: o,
			institution: flycheckv1.CaseInstitution{Code: in.Code, Name: in.Name, CityCode: in.CityCode, Level: int32(in.Level)}})
	}
	return seeds, true, nil
}

// screeningLeads are each institution's findings and money at risk, from
// the ScreeningJob's shard results, verified as the ScreeningJob controller
// verifies them (signed with the job's key; forgeries are ignored).
func (r *CaseOpenerReconciler) screeningLeads(ctx context.Context, ns, sjName string) (map[string]screening.InstitutionSummary, error) {
	if sjName == "" {
		return nil, nil // a roster: no screening, no leads
	}
	var sj flycheckv1.ScreeningJob
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: sjName}, &sj); err != nil {
		return nil, err
	}
	r.verifierOnce.Do(func() {
		r.verifier = &ScreeningJobReconciler{Client: r.Client, APIReader: r.APIReader, OperatorNamespace: r.OperatorNamespace}
	})
	sjr := r.verifier
	key, err := sjr.jobKey(ctx, &sj)
	if err != nil {
		return nil, err
	}
	results, err := sjr.shardResults(ctx, &sj, key)
	sjr.results.forget(sj.UID) // an opening reads them once: keep nothing
	if err != nil {
		return nil, err
	}
	var parts []*screening.Summary
	for _, idx := range results.order {
		parts = append(parts, results.done[idx].Summary)
	}
	merged, err := screening.MergeSummaries(parts...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]screening.InstitutionSummary, len(merged.Institutions))
	for _, in := range merged.Institutions {
		out[in.Code] = in
	}
	return out, nil
}

// openCounts says what an opening did, for its event.
type openCounts struct{ opened, added, unchanged, taken int }

func (c openCounts) String() string {
	s := fmt.Sprintf("opened %d cases", c.opened)
	if c.added > 0 {
		s += fmt.Sprintf(", added the origin to %d existing cases", c.added)
	}
	if c.unchanged > 0 {
		s += fmt.Sprintf(", %d were open already", c.unchanged)
	}
	if c.taken > 0 {
		s += fmt.Sprintf(", skipped %d whose names hold another institution's or campaign's case", c.taken)
	}
	return s
}

// An opening is written in two passes. The first creates every case that
// does not exist yet (one write each); the second adds each seed's origin
// and writes the case's status (origins, stage, deadlines: a second write,
// which costs the API server about 2.5 creates). A Jiangsu-size opening
// thus has every institution's case, counted by the Campaign, in the time
// of the creates alone, and the status pass follows. Until its status is
// written a case opened by the operator is left alone by the InspectionCase
// reconciler; an opening cut short (a restart) finds its cases created and
// goes on with their status.

// createAll creates the seeds' cases that do not exist yet and returns the
// keys (namespace/name) of those it created, with an event on about (the
// object the opening's event goes on) when it created any.
func (r *CaseOpenerReconciler) createAll(ctx context.Context, camp *flycheckv1.Campaign, about client.Object, phase string, seeds []caseSeed) (map[types.NamespacedName]bool, error) {
	ev := r.evaluator()
	var mu sync.Mutex
	created := map[types.NamespacedName]bool{}
	err := r.parallel(seeds, func(seed caseSeed) error {
		var ic flycheckv1.InspectionCase
		if err := ev.Client.Get(ctx, seedKey(camp, seed), &ic); err == nil || !apierrors.IsNotFound(err) {
			return client.IgnoreNotFound(err) // it exists (or the cache failed)
		}
		ok, err := ev.createCase(ctx, camp, seed, &ic)
		if ok {
			mu.Lock()
			created[client.ObjectKeyFromObject(&ic)] = true
			mu.Unlock()
		}
		return err
	})
	if n := len(created); n > 0 {
		namespaces := map[string]bool{}
		for _, s := range seeds {
			namespaces[s.namespace] = true
		}
		emit(ctx, r.Recorder, about, note{corev1.EventTypeNormal, CaseReasonCasesCreated, "Create/" + phase,
			fmt.Sprintf("Phase %s: created %d cases in %d namespaces; writing their status (origin, deadlines)", phase, n, len(namespaces))})
	}
	return created, err
}

// openAll adds each seed's origin to its case and writes the case's status
// (creating the case if the first pass did not); created holds the cases
// the first pass created, which count as opened.
func (r *CaseOpenerReconciler) openAll(ctx context.Context, camp *flycheckv1.Campaign, seeds []caseSeed, created map[types.NamespacedName]bool, now time.Time) (openCounts, error) {
	ev := r.evaluator()
	var mu sync.Mutex
	var counts openCounts
	err := r.parallel(seeds, func(seed caseSeed) error {
		outcome, err := ev.openCase(ctx, camp, seed, now)
		if err != nil {
			return err
		}
		if outcome == caseOriginAdded && created[seedKey(camp, seed)] {
			outcome = caseOpened
		}
		mu.Lock()
		defer mu.Unlock()
		switch outcome {
		case caseOpened:
			counts.opened++
		case caseOriginAdded:
			counts.added++
		case caseUnchanged:
			counts.unchanged++
		case caseNameTaken:
			counts.taken++
		}
		return nil
	})
	return counts, err
}

func (r *CaseOpenerReconciler) evaluator() caseEvaluator {
	return caseEvaluator{Client: r.Client, APIReader: r.APIReader, Recorder: r.Recorder, Holidays: r.Holidays}
}

// parallel calls fn for each seed with r.Workers workers and stops handing
// out seeds at the first error, which it returns: the API server, not this
// process, is the bottleneck of a 5 000-case city.
func (r *CaseOpenerReconciler) parallel(seeds []caseSeed, fn func(caseSeed) error) error {
	workers := r.Workers
	if workers <= 0 {
		workers = 32
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan caseSeed)
	for range workers {
		wg.Go(func() {
			for seed := range work {
				if err := fn(seed); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, s := range seeds {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- s
	}
	close(work)
	wg.Wait()
	return firstErr
}

// SetupWithManager registers the opener. A campaign is looked at when its
// spec changes, when the Campaign reconciler records a phase state, when
// one of its samples is drawn, when one of its ScreeningJobs gets its
// frame, and when a roster ConfigMap it names appears.
func (r *CaseOpenerReconciler) SetupWithManager(mgr ctrl.Manager) error {
	phasesMoved := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*flycheckv1.Campaign), e.ObjectNew.(*flycheckv1.Campaign)
		if o.Generation != n.Generation || len(o.Status.Phases) != len(n.Status.Phases) {
			return true
		}
		for i := range o.Status.Phases {
			if o.Status.Phases[i].State != n.Status.Phases[i].State {
				return true
			}
		}
		return false
	}}
	drawn := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*flycheckv1.InspectionSample), e.ObjectNew.(*flycheckv1.InspectionSample)
		return (o.Status.DrawnAt == nil) != (n.Status.DrawnAt == nil)
	}}
	framed := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld.(*flycheckv1.ScreeningJob), e.ObjectNew.(*flycheckv1.ScreeningJob)
		return o.Status.FrameConfigMap != n.Status.FrameConfigMap
	}}
	onlyCreate := predicate.Funcs{
		UpdateFunc: func(event.UpdateEvent) bool { return false },
		DeleteFunc: func(event.DeleteEvent) bool { return false },
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&flycheckv1.Campaign{}, builder.WithPredicates(phasesMoved)).
		Owns(&flycheckv1.InspectionSample{}, builder.WithPredicates(drawn)).
		Owns(&flycheckv1.ScreeningJob{}, builder.WithPredicates(framed)).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.campaignsWithRoster),
			builder.WithPredicates(onlyCreate)).
		Named("caseopener").
		Complete(r)
}

func (r *CaseOpenerReconciler) campaignsWithRoster(ctx context.Context, cm client.Object) []reconcile.Request {
	var list flycheckv1.CampaignList
	if err := r.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "listing campaigns for a roster")
		return nil
	}
	var out []reconcile.Request
	for _, c := range list.Items {
		if c.Spec.Roster == cm.GetName() && slices.Contains(campaignNamespaces(&c), cm.GetNamespace()) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
		}
	}
	return out
}
