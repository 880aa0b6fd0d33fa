package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

// caseEvaluator gathers what a case's status depends on and computes it.
// The InspectionCase reconciler, the case opener and the hand-off all write
// case status through it, so whichever writes, the status is the one the
// InspectionCase reconciler would write (and its next reconcile writes
// nothing).
type caseEvaluator struct {
	// Client reads from the manager's cache (Campaigns, cases) and writes.
	Client    client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	Holidays  *HolidayCalendar
}

// campaignOf is the Campaign a case (or a tip-off) names; nil when it
// names none or the Campaign is gone.
func (e caseEvaluator) campaignOf(ctx context.Context, ref *flycheckv1.CampaignReference) (*flycheckv1.Campaign, error) {
	if ref == nil {
		return nil, nil
	}
	var camp flycheckv1.Campaign
	err := e.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, &camp)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &camp, nil
}

// context gathers the calendar, the institution's earlier campaigns and the
// hand-off record.
func (e caseEvaluator) context(ctx context.Context, ic *flycheckv1.InspectionCase, camp *flycheckv1.Campaign, now time.Time) (caseContext, error) {
	cc := caseContext{campaign: camp, now: now}
	cal, err := e.Holidays.Get(ctx)
	if cal == nil && err != nil {
		return cc, err // the API server did not answer
	}
	cc.calendar, cc.calendarErr = cal, err
	if cc.repeatOf, err = e.priorCampaigns(ctx, ic, camp); err != nil {
		return cc, err
	}
	cc.handOff, err = e.handOffRecord(ctx, ic)
	return cc, err
}

// priorCampaigns lists the other campaigns in which the institution had a
// case, in the same namespace, with violations confirmed on site and
// decided before this case's campaign began (its first phase; without a
// campaign, before the case was created): 屡查屡犯. A record of an old
// campaign entered later still counts; a later campaign's case does not
// make an earlier one a repeat offender. Only the same namespace is
// searched: a city case must not reveal a province fly-check case that was
// never handed off.
func (e caseEvaluator) priorCampaigns(ctx context.Context, ic *flycheckv1.InspectionCase, camp *flycheckv1.Campaign) ([]string, error) {
	var list flycheckv1.InspectionCaseList
	if err := e.Client.List(ctx, &list, client.InNamespace(ic.Namespace),
		client.MatchingFields{caseInstitutionIndex: ic.Spec.Institution.Code}); err != nil {
		return nil, err
	}
	opened := ic.CreationTimestamp.Time
	if opened.IsZero() {
		opened = time.Now()
	}
	if start, ok := campaignStart(camp); ok {
		opened = start
	}
	var out []string
	for i := range list.Items {
		o := &list.Items[i]
		if o.Name == ic.Name || o.Spec.CampaignRef == nil ||
			(ic.Spec.CampaignRef != nil && o.Spec.CampaignRef.Name == ic.Spec.CampaignRef.Name) {
			continue
		}
		onSite, decision := effectiveOnSite(o, o.Status.HandOff), effectiveDecision(o, o.Status.HandOff)
		if onSite == nil || len(onSite.Violations) == 0 || decision == nil {
			continue
		}
		decided, err := caseEventInstant(decision.DecidedAt)
		if err != nil || !decided.Before(opened) {
			continue
		}
		if !slices.Contains(out, o.Spec.CampaignRef.Name) {
			out = append(out, o.Spec.CampaignRef.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// campaignStart is the start of the campaign's earliest phase.
func campaignStart(camp *flycheckv1.Campaign) (time.Time, bool) {
	if camp == nil {
		return time.Time{}, false
	}
	plan, err := schedule.Parse(camp.Spec.TimeZone, phaseSpecs(camp.Spec.Phases))
	if err != nil || len(plan.Phases) == 0 {
		return time.Time{}, false
	}
	start := plan.Phases[0].Start
	for _, p := range plan.Phases[1:] {
		if p.Start.Before(start) {
			start = p.Start
		}
	}
	return start, true
}

// caseEventInstant reads another case's date in the default zone: close
// enough to order a decision against a case's creation.
func caseEventInstant(d flycheckv1.Date) (time.Time, error) {
	loc, err := caseLocation(nil)
	if err != nil {
		return time.Time{}, err
	}
	return time.ParseInLocation(time.DateOnly, string(d)[:10], loc)
}

// handOffRecord: on a province case, what its hand-off step recorded; on a
// city case handed off from the province, the province case's on-site
// result and decision as they are now (kept from status if the province
// case is gone).
func (e caseEvaluator) handOffRecord(ctx context.Context, ic *flycheckv1.InspectionCase) (*flycheckv1.CaseHandOff, error) {
	var from *flycheckv1.CaseOrigin
	for i := range ic.Status.Origins {
		if ic.Status.Origins[i].HandedOffFrom != "" {
			from = &ic.Status.Origins[i]
		}
	}
	if from == nil {
		return ic.Status.HandOff, nil
	}
	ns, name, ok := cutKey(from.HandedOffFrom)
	if !ok {
		return ic.Status.HandOff, nil
	}
	var prov flycheckv1.InspectionCase
	err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &prov)
	if apierrors.IsNotFound(err) {
		return ic.Status.HandOff, nil
	}
	if err != nil {
		return nil, err
	}
	at := from.At
	return &flycheckv1.CaseHandOff{From: from.HandedOffFrom, At: &at,
		OnSite: prov.Spec.OnSite.DeepCopy(), Decision: prov.Spec.Decision.DeepCopy()}, nil
}

func cutKey(s string) (ns, name string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}

// caseSeed is what the operator opens a case with.
type caseSeed struct {
	namespace   string
	city        string // the city's name, for the city label
	institution flycheckv1.CaseInstitution
	origin      flycheckv1.CaseOrigin
}

// openOutcome says what openCase did.
type openOutcome int

const (
	caseOpened      openOutcome = iota // created
	caseOriginAdded                    // existed; the origin was added
	caseUnchanged                      // existed with the origin already
	caseNameTaken                      // the name holds another institution's or campaign's case
)

// seedKey is the name of the seed's case.
func seedKey(camp *flycheckv1.Campaign, seed caseSeed) types.NamespacedName {
	return types.NamespacedName{Namespace: seed.namespace, Name: caseNameFor(camp, seed.institution.Code)}
}

// createCase creates the seed's case into ic, without status;
// created=false when a case of that name exists already.
func (e caseEvaluator) createCase(ctx context.Context, camp *flycheckv1.Campaign, seed caseSeed, ic *flycheckv1.InspectionCase) (created bool, err error) {
	*ic = flycheckv1.InspectionCase{
		ObjectMeta: metav1.ObjectMeta{Namespace: seed.namespace, Name: seedKey(camp, seed).Name, Labels: map[string]string{}},
		Spec:       flycheckv1.InspectionCaseSpec{Institution: seed.institution},
	}
	if camp != nil {
		ic.Labels[flycheckv1.LabelCampaign] = camp.Name
		ic.Spec.CampaignRef = &flycheckv1.CampaignReference{Name: camp.Name}
		if err := controllerutil.SetControllerReference(camp, ic, e.Client.Scheme()); err != nil {
			return false, err
		}
	}
	if seed.city != "" {
		ic.Labels[flycheckv1.LabelCity] = seed.city
	}
	switch err := e.Client.Create(ctx, ic); {
	case err == nil:
		return true, nil
	case apierrors.IsAlreadyExists(err):
		return false, nil
	default:
		return false, fmt.Errorf("creating InspectionCase %s/%s: %w", ic.Namespace, ic.Name, err)
	}
}

// openCase creates the seed's case (the institution and the campaign only,
// owned by the Campaign so that deleting the campaign deletes its cases,
// labelled like every campaign child), or adds the seed's origin to the
// case that exists, and writes its full status at once. A case deleted by a
// person is created again only if the caller asks again; callers record
// what they opened so that they do not. Without a campaign (a tip-off that
// names none) the case is the institution's standing case outside
// campaigns, TipOffCaseName, with no owner.
func (e caseEvaluator) openCase(ctx context.Context, camp *flycheckv1.Campaign, seed caseSeed, now time.Time) (openOutcome, error) {
	key := seedKey(camp, seed)
	campaign := ""
	if camp != nil {
		campaign = camp.Name
	}
	var ic flycheckv1.InspectionCase
	outcome := caseOriginAdded
	err := e.Client.Get(ctx, key, &ic)
	switch {
	case apierrors.IsNotFound(err):
		created, err := e.createCase(ctx, camp, seed, &ic)
		switch {
		case err != nil:
			return 0, err
		case created:
			outcome = caseOpened
		default:
			if err := e.APIReader.Get(ctx, key, &ic); err != nil {
				return 0, err
			}
		}
	case err != nil:
		return 0, err
	}
	for attempt := 0; ; attempt++ {
		ref := ""
		if ic.Spec.CampaignRef != nil {
			ref = ic.Spec.CampaignRef.Name
		}
		if ic.Spec.Institution.Code != seed.institution.Code || ref != campaign {
			return caseNameTaken, nil
		}
		if hasOrigin(ic.Status.Origins, seed.origin) {
			return caseUnchanged, nil
		}
		with := ic.DeepCopy()
		with.Status.Origins = append(with.Status.Origins, seed.origin)
		cc, err := e.context(ctx, with, camp, now)
		if err != nil {
			return 0, err
		}
		st, _ := desiredCaseStatus(with, cc)
		_, err = writeStatus(ctx, e.Client, e.Recorder, &ic, &ic.Status, st)
		if !apierrors.IsConflict(err) || attempt == 4 {
			return outcome, err
		}
		// Someone else wrote the case meanwhile: start again from it.
		if err := e.APIReader.Get(ctx, key, &ic); err != nil {
			return 0, err
		}
	}
}

// hasOrigin: the case already records this origin (same kind, same phase,
// same tip-off).
func hasOrigin(origins []flycheckv1.CaseOrigin, o flycheckv1.CaseOrigin) bool {
	return slices.ContainsFunc(origins, func(x flycheckv1.CaseOrigin) bool {
		return x.Type == o.Type && x.Phase == o.Phase && x.HandedOffFrom == o.HandedOffFrom && x.TipOff == o.TipOff
	})
}

// openedByOperator: the case is a Campaign's child. Until its opener has
// written its origins it has no status to compute.
func openedByOperator(ic *flycheckv1.InspectionCase) bool {
	ref := metav1.GetControllerOf(ic)
	return ref != nil && ref.Kind == "Campaign" && ref.APIVersion == flycheckv1.GroupVersion.String()
}
