package controllers

import (
	"errors"
	"fmt"
	"strings"
	"time"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/calendar"
	"github.com/medfund/flycheck-operator/internal/cases"
	"github.com/medfund/flycheck-operator/internal/tipoffs"
)

// A TipOff's status, shaped by a pure function of the object, what the
// reconciler gathered (tipOffContext) and the clock. The arithmetic is
// internal/tipoffs; this file only translates. Nothing here reads the
// identity Secret, and no message it writes names anything of the
// reporter: only dates, amounts, rates and states.

// tipOffContext is what a tip-off's status depends on besides the object.
type tipOffContext struct {
	// The campaign the tip-off names; nil when none or gone.
	campaign    *flycheckv1.Campaign
	calendar    *calendar.Calendar
	calendarErr error
	// The case the tip-off opened or joined, "<namespace>/<name>".
	caseRef string
	now     time.Time
}

// desiredTipOffStatus is the status at tc.now and the instant it next
// changes by itself (zero: not by itself). What cannot be evaluated keeps
// its stored value and the conditions say why.
func desiredTipOffStatus(to *flycheckv1.TipOff, tc tipOffContext) (*flycheckv1.TipOffStatus, time.Time) {
	st := to.Status.DeepCopy()
	st.ObservedGeneration = to.Generation
	st.Case = tc.caseRef
	conds := newConditionSetter(&st.Conditions, to.Generation, tc.now)
	fail := func(p *caseProblem) (*flycheckv1.TipOffStatus, time.Time) {
		if p.stalled {
			conds.stalled(p.reason, p.msg)
		} else {
			conds.progressing(p.reason, p.msg)
		}
		return st, time.Time{}
	}

	loc, err := caseLocation(tc.campaign)
	if err != nil {
		return fail(&caseProblem{stalled: true, reason: TipOffReasonInvalidSpec, msg: err.Error()})
	}
	in, policy, claim, paidAt, err := tipOffInput(to, loc)
	if err != nil {
		return fail(&caseProblem{stalled: true, reason: TipOffReasonInvalidSpec, msg: err.Error()})
	}
	if tc.calendarErr != nil {
		return fail(&caseProblem{reason: TipOffReasonCalendarYearMissing, msg: tc.calendarErr.Error()})
	}
	res, err := tipoffs.Evaluate(in, tc.calendar, loc, tc.now)
	if year, ok := calendar.IsYearNotCovered(err); ok {
		return fail(&caseProblem{reason: TipOffReasonCalendarYearMissing, msg: fmt.Sprintf(
			"the calendar does not know %d yet (ConfigMap %s in the operator namespace, key %s)",
			year, flycheckv1.HolidayConfigMap, flycheckv1.HolidayConfigMapKey)})
	}
	if err != nil {
		return fail(&caseProblem{stalled: true, reason: TipOffReasonInvalidSpec, msg: err.Error()})
	}

	st.Deadlines = statusDeadlines(res.Deadlines)
	rw := tipoffs.Compute(policy, claim)
	st.Reward = &flycheckv1.TipOffReward{State: flycheckv1.RewardState(rw.State), Capped: rw.Capped}
	for _, r := range rw.Reasons {
		st.Reward.Reasons = append(st.Reward.Reasons, flycheckv1.RewardReason(r))
	}
	if rw.State == tipoffs.Monetary || rw.State == tipoffs.NonMonetary {
		st.Reward.RatePercent = flycheckv1.Percent(rw.Rate.String())
		st.Reward.Amount = money(rw.Amount)
	}
	if paidAt != nil {
		st.Reward.PaidAt = timePtr(*paidAt)
	}

	conds.ready(TipOffReasonEvaluated, tipOffMessage(st.Reward, res, loc))
	setOverdue(conds, res.Deadlines, loc)
	return st, res.NextChange
}

func tipOffMessage(rw *flycheckv1.TipOffReward, res tipoffs.Result, loc *time.Location) string {
	msg := "reward " + rewardSummary(rw)
	if !res.NextChange.IsZero() {
		msg += "; next deadline at " + res.NextChange.In(loc).Format(time.RFC3339)
	}
	return msg
}

// rewardSummary is the reward in a few words, for messages and events.
// Events and conditions can be read by whoever reads the namespace's
// events (a city viewer): the amount and rate stay in status.reward, since
// a 6 % rate, or an amount beside the case's found sum, would tell that the
// reporter is an insider of the institution.
func rewardSummary(rw *flycheckv1.TipOffReward) string {
	switch rw.State {
	case flycheckv1.RewardState(tipoffs.None):
		reasons := make([]string, len(rw.Reasons))
		for i, r := range rw.Reasons {
			reasons[i] = string(r)
		}
		return "None (" + strings.Join(reasons, ", ") + ")"
	case flycheckv1.RewardState(tipoffs.Monetary), flycheckv1.RewardState(tipoffs.NonMonetary):
		return string(rw.State) + " (amount in status.reward)"
	}
	return string(rw.State)
}

// tipOffPolicy is spec.rewardPolicy over Luohe's defaults (the API server
// fills them in; an object written before a default existed still gets it).
func tipOffPolicy(p *flycheckv1.RewardPolicy) (tipoffs.Policy, error) {
	out := tipoffs.Luohe
	if p == nil {
		return out, nil
	}
	var errs []error
	rate := func(field string, v flycheckv1.Percent, to *tipoffs.Rate) {
		if v == "" {
			return
		}
		r, err := tipoffs.ParseRate(string(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("spec.rewardPolicy.%s: %w", field, err))
		}
		*to = r
	}
	amount := func(field string, v flycheckv1.Money, to *cases.Fen) {
		if v == "" {
			return
		}
		f, err := cases.ParseYuan(string(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("spec.rewardPolicy.%s: %w", field, err))
		}
		*to = f
	}
	rate("ratePercent", p.RatePercent, &out.Rate)
	rate("insiderBonusPercent", p.InsiderBonusPercent, &out.InsiderBonus)
	amount("cap", p.Cap, &out.Cap)
	amount("nonMonetaryBelow", p.NonMonetaryBelow, &out.NonMonetaryBelow)
	return out, errors.Join(errs...)
}

// tipOffInput converts the spec into internal/tipoffs' terms, dates read
// in loc.
func tipOffInput(to *flycheckv1.TipOff, loc *time.Location) (tipoffs.TipOff, tipoffs.Policy, tipoffs.Claim, *time.Time, error) {
	spec := &to.Spec
	var errs []error
	at := func(field string, d flycheckv1.Date) *time.Time {
		if d == "" {
			return nil
		}
		t, err := cases.EventAt(string(d), loc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
			return nil
		}
		return &t
	}
	in := tipoffs.TipOff{WantsFeedback: spec.WantsFeedback,
		FeedbackAt: at("spec.feedbackAt", spec.FeedbackAt), AcceptedAt: at("spec.acceptedAt", spec.AcceptedAt),
		ClosedAt: at("spec.closedAt", spec.ClosedAt)}
	if r := at("spec.receivedAt", spec.ReceivedAt); r != nil {
		in.ReceivedAt = *r
	}
	paidAt := at("spec.rewardPaidAt", spec.RewardPaidAt)
	policy, err := tipOffPolicy(spec.RewardPolicy)
	if err != nil {
		errs = append(errs, err)
	}
	confirmed, err := cases.ParseOptional(string(spec.ConfirmedAmount))
	if err != nil {
		errs = append(errs, fmt.Errorf("spec.confirmedAmount: %w", err))
	}
	claim := tipoffs.Claim{Verdict: tipoffs.Verdict(spec.Verdict), Loss: tipoffs.Loss(spec.FundLoss),
		Confirmed: confirmed, Insider: spec.Insider != "", AlreadyKnown: spec.AlreadyKnown, WantsReward: spec.WantsReward}
	return in, policy, claim, paidAt, errors.Join(errs...)
}
