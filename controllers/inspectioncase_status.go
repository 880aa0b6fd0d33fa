package controllers

import (
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/calendar"
	"github.com/medfund/flycheck-operator/internal/cases"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

// An InspectionCase's status, shaped by pure functions of the object, what
// the reconciler gathered about it (caseContext) and the clock. The
// arithmetic is internal/cases.Evaluate; this file only translates.

// caseContext is what a case's status depends on besides its own object.
type caseContext struct {
	// The campaign the case names; nil when it names none or it is gone.
	campaign *flycheckv1.Campaign
	calendar *calendar.Calendar
	// calendarErr: the holiday ConfigMap does not parse.
	calendarErr error
	// Earlier campaigns in which the institution had confirmed violations.
	repeatOf []string
	// The hand-off record (to the city on a province case, from the
	// province on a city case).
	handOff *flycheckv1.CaseHandOff
	now     time.Time
}

// caseProblem is why a status could not be computed: waiting (Reconciling)
// for something that can appear, or stalled on the spec.
type caseProblem struct {
	stalled     bool
	reason, msg string
}

func (p *caseProblem) Error() string { return p.reason + ": " + p.msg }

// desiredCaseStatus is the status the case should have at cc.now, and the
// instant it next changes by itself (zero: not by itself). When the inputs
// cannot be evaluated the computed fields keep their stored values and the
// conditions say why.
func desiredCaseStatus(ic *flycheckv1.InspectionCase, cc caseContext) (*flycheckv1.InspectionCaseStatus, time.Time) {
	st := ic.Status.DeepCopy()
	st.ObservedGeneration = ic.Generation
	conds := newConditionSetter(&st.Conditions, ic.Generation, cc.now)
	st.HandOff = cc.handOff
	st.RepeatOf = cc.repeatOf
	st.RepeatOffender = len(cc.repeatOf) > 0

	in, loc, err := caseInput(ic, cc)
	var res cases.Result
	if err == nil {
		res, err = cases.Evaluate(in, cc.now)
	}
	if err != nil {
		p, ok := errors.AsType[*caseProblem](err)
		if !ok {
			p = &caseProblem{stalled: true, reason: CaseReasonInvalidSpec, msg: err.Error()}
		}
		if p.stalled {
			conds.stalled(p.reason, p.msg)
		} else {
			conds.progressing(p.reason, p.msg)
		}
		return st, time.Time{}
	}

	st.Stage = flycheckv1.CaseStage(res.Stage)
	a := res.Amounts
	st.Amounts = &flycheckv1.CaseAmounts{
		Leads: money(a.Leads), SelfReported: money(a.SelfReported), Found: money(a.Found),
		UnderReported: money(a.UnderReported), Ordered: money(a.Ordered),
		Recovered: money(a.Recovered), Outstanding: money(a.Outstanding),
	}
	st.UnderReported, st.Blank = res.UnderReported, res.Blank
	st.Deadlines = statusDeadlines(res.Deadlines)
	conds.ready(CaseReasonEvaluated, caseMessage(res, loc))
	setOverdue(conds, res.Deadlines, loc)
	return st, res.NextChange
}

// statusDeadlines are evaluated deadlines as status shows them.
func statusDeadlines(ds []cases.Deadline) []flycheckv1.CaseDeadline {
	var out []flycheckv1.CaseDeadline
	for _, d := range ds {
		cd := flycheckv1.CaseDeadline{Name: d.Name, Due: *timePtr(d.Due), State: flycheckv1.DeadlineState(d.State)}
		if d.CompletedAt != nil {
			cd.CompletedAt = timePtr(*d.CompletedAt)
		}
		out = append(out, cd)
	}
	return out
}

// setOverdue sets the Overdue condition (cases and tip-offs alike): True
// with the deadlines passed without their event, False otherwise.
func setOverdue(conds conditionSetter, ds []cases.Deadline, loc *time.Location) {
	var parts []string
	for _, d := range ds {
		if d.State == cases.Missed && d.CompletedAt == nil {
			parts = append(parts, fmt.Sprintf("%s was due at %s", d.Name, d.Due.In(loc).Format(time.RFC3339)))
		}
	}
	if len(parts) > 0 {
		conds.set(flycheckv1.ConditionOverdue, metav1.ConditionTrue, CaseReasonDeadlineMissed, strings.Join(parts, "; "))
	} else {
		conds.set(flycheckv1.ConditionOverdue, metav1.ConditionFalse, CaseReasonOnTime, "")
	}
}

func money(f cases.Fen) flycheckv1.Money { return flycheckv1.Money(f.String()) }

func caseMessage(r cases.Result, loc *time.Location) string {
	msg := fmt.Sprintf("stage %s; found %s yuan, recovered %s, outstanding %s", r.Stage,
		r.Amounts.Found, r.Amounts.Recovered, r.Amounts.Outstanding)
	if !r.NextChange.IsZero() {
		msg += "; next deadline at " + r.NextChange.In(loc).Format(time.RFC3339)
	}
	return msg
}

// caseLocation is the campaign's time zone (the default without one).
func caseLocation(camp *flycheckv1.Campaign) (*time.Location, error) {
	tz := ""
	if camp != nil {
		tz = camp.Spec.TimeZone
	}
	return schedule.LoadLocation(tz)
}

// effectiveOnSite and effectiveDecision are the case's own record, or for
// a city case handed off from the province, the province's until the city
// records its own.
func effectiveOnSite(ic *flycheckv1.InspectionCase, handOff *flycheckv1.CaseHandOff) *flycheckv1.OnSite {
	if ic.Spec.OnSite == nil && handOff != nil && handOff.From != "" {
		return handOff.OnSite
	}
	return ic.Spec.OnSite
}

func effectiveDecision(ic *flycheckv1.InspectionCase, handOff *flycheckv1.CaseHandOff) *flycheckv1.CaseDecision {
	if ic.Spec.Decision == nil && handOff != nil && handOff.From != "" {
		return handOff.Decision
	}
	return ic.Spec.Decision
}

// caseInput converts the object into internal/cases' terms, resolving
// dates in the campaign's zone and working days on the calendar.
func caseInput(ic *flycheckv1.InspectionCase, cc caseContext) (cases.Case, *time.Location, error) {
	loc, err := caseLocation(cc.campaign)
	if err != nil {
		return cases.Case{}, time.UTC, err
	}
	spec := &ic.Spec
	c := cases.Case{HandedOff: spec.HandOff, RepeatOffender: len(cc.repeatOf) > 0}
	var errs []error
	event := func(field string, d flycheckv1.Date) time.Time {
		t, err := cases.EventAt(string(d), loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
		return t
	}
	amount := func(field string, m flycheckv1.Money) cases.Fen {
		f, err := cases.ParseOptional(string(m))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
		return f
	}
	for i, o := range ic.Status.Origins {
		if o.Type == flycheckv1.OriginScreening {
			if c.Leads, err = c.Leads.Add(amount(fmt.Sprintf("status.origins[%d].leadsAmount", i), o.LeadsAmount)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if si := spec.SelfInspection; si != nil {
		c.SelfInspection = &cases.SelfInspection{ReportedAt: event("spec.selfInspection.reportedAt", si.ReportedAt),
			LeadsConfirmed: int(si.LeadsConfirmed), LeadsDisputed: int(si.LeadsDisputed),
			Confirmed: amount("spec.selfInspection.confirmedAmount", si.ConfirmedAmount), PledgeSigned: si.PledgeSigned}
	}
	if os := effectiveOnSite(ic, cc.handOff); os != nil {
		c.OnSite = &cases.OnSite{Done: os.To != ""}
		for i, v := range os.Violations {
			c.OnSite.Violations = append(c.OnSite.Violations, cases.Violation{Category: string(v.Category),
				Amount: amount(fmt.Sprintf("onSite.violations[%d].amount", i), v.Amount), SelfReported: v.SelfReported})
		}
	}
	if d := effectiveDecision(ic, cc.handOff); d != nil {
		dec := &cases.Decision{DecidedAt: event("decision.decidedAt", d.DecidedAt)}
		for i, a := range d.Actions {
			dec.Actions = append(dec.Actions, cases.Action{Type: cases.ActionType(a.Type),
				Amount: amount(fmt.Sprintf("decision.actions[%d].amount", i), a.Amount), Multiple: int(a.Multiple)})
		}
		switch {
		case d.RectificationDue != "":
			due, err := cases.DueBy(string(d.RectificationDue), loc)
			if err != nil {
				errs = append(errs, fmt.Errorf("decision.rectificationDue: %w", err))
			}
			dec.RectificationDue = &due
		case d.RectificationWorkingDays > 0:
			due, err := workingDaysDue(cc, dec.DecidedAt, int(d.RectificationWorkingDays), loc, "decision.rectificationWorkingDays")
			if err != nil {
				return c, loc, err
			}
			dec.RectificationDue = &due
		}
		c.Decision = dec
	}
	for i, r := range spec.Recoveries {
		c.Recoveries = append(c.Recoveries, cases.Recovery{Amount: amount(fmt.Sprintf("spec.recoveries[%d].amount", i), r.Amount),
			At: event(fmt.Sprintf("spec.recoveries[%d].at", i), r.At)})
	}
	if spec.RectifiedAt != "" {
		t := event("spec.rectifiedAt", spec.RectifiedAt)
		c.RectifiedAt = &t
	}
	c.FollowUpRecurred = spec.FollowUp != nil && spec.FollowUp.Result == flycheckv1.FollowUpRecurred
	if len(errs) > 0 {
		return c, loc, errors.Join(errs...)
	}
	due, err := reportDue(cc, ic.Status.Origins, loc)
	if err != nil {
		return c, loc, err
	}
	c.ReportDue = due
	return c, loc, nil
}

// reportDue is the self-inspection report deadline of the latest
// self-inspection phase that brought the case in: the phase's reportDue,
// or its reportWithinWorkingDays after its start, or its end.
func reportDue(cc caseContext, origins []flycheckv1.CaseOrigin, loc *time.Location) (*time.Time, error) {
	if cc.campaign == nil {
		return nil, nil
	}
	var phase *flycheckv1.Phase
	for _, o := range origins {
		if o.Type != flycheckv1.OriginScreening {
			continue
		}
		for i := range cc.campaign.Spec.Phases {
			if p := &cc.campaign.Spec.Phases[i]; p.Name == o.Phase && p.SelfInspection != nil {
				phase = p
			}
		}
	}
	if phase == nil {
		return nil, nil
	}
	si := phase.SelfInspection
	field := "campaign phase " + phase.Name
	var due time.Time
	var err error
	switch {
	case si.ReportDue != nil:
		due, err = cases.DueBy(string(*si.ReportDue), loc)
	case si.ReportWithinWorkingDays > 0:
		var start time.Time
		if start, err = schedule.ParseStart(string(phase.Start), loc); err == nil {
			due, err = workingDaysDue(cc, start, int(si.ReportWithinWorkingDays), loc, field+" reportWithinWorkingDays")
		}
	default:
		due, err = schedule.ParseEnd(string(phase.End), loc)
	}
	if err != nil {
		return nil, err
	}
	return &due, nil
}

// workingDaysDue counts a deadline in working days; a year the calendar
// does not know yet (or a broken holiday ConfigMap) makes the case wait.
func workingDaysDue(cc caseContext, from time.Time, n int, loc *time.Location, field string) (time.Time, error) {
	if cc.calendarErr != nil {
		return time.Time{}, &caseProblem{reason: CaseReasonCalendarYearMissing, msg: cc.calendarErr.Error()}
	}
	due, err := cases.DueAfterWorkingDays(cc.calendar, from, n, loc)
	if _, ok := calendar.IsYearNotCovered(err); ok {
		return time.Time{}, &caseProblem{reason: CaseReasonCalendarYearMissing,
			msg: fmt.Sprintf("%s: %v (ConfigMap %s in the operator namespace, key %s)", field, err,
				flycheckv1.HolidayConfigMap, flycheckv1.HolidayConfigMapKey)}
	}
	return due, err
}

// usesCalendar: the case's status depends on the working-day calendar.
func usesCalendar(ic *flycheckv1.InspectionCase) bool {
	if d := ic.Spec.Decision; d != nil && d.RectificationWorkingDays > 0 {
		return true
	}
	for _, o := range ic.Status.Origins {
		if o.Type == flycheckv1.OriginScreening {
			return true
		}
	}
	return conditionReason(ic.Status.Conditions, flycheckv1.ConditionReconciling) == CaseReasonCalendarYearMissing
}
