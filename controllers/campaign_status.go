package controllers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

// The Campaign's status, shaped by pure functions of (spec, stored status,
// plan, clock): table-tested in campaign_status_test.go without an API
// server. The reconciler only gathers their inputs and writes the result.

func phaseSpecs(phases []flycheckv1.Phase) []schedule.PhaseSpec {
	out := make([]schedule.PhaseSpec, len(phases))
	for i, p := range phases {
		out[i] = schedule.PhaseSpec{Name: p.Name, Start: string(p.Start), End: string(p.End)}
	}
	return out
}

func previousStates(status *flycheckv1.CampaignStatus) map[string]schedule.State {
	prev := make(map[string]schedule.State, len(status.Phases))
	for _, p := range status.Phases {
		prev[p.Name] = schedule.State(p.State)
	}
	return prev
}

// setPhases writes each phase's state at now. The timestamps are the
// scheduled boundaries, not the moment they were observed, so status stays a
// pure function of spec and clock.
func setPhases(status *flycheckv1.CampaignStatus, plan *schedule.Plan, now time.Time) {
	launched := map[string]*metav1.Time{}
	for _, p := range status.Phases {
		launched[p.Name] = p.LaunchedAt
	}
	out := make([]flycheckv1.PhaseStatus, len(plan.Phases))
	for i, ph := range plan.Phases {
		st := flycheckv1.PhaseStatus{Name: ph.Name, State: flycheckv1.PhaseState(ph.StateAt(now)), LaunchedAt: launched[ph.Name]}
		if st.State != flycheckv1.PhasePending {
			st.StartedAt = timePtr(ph.Start)
		}
		if st.State == flycheckv1.PhaseCompleted {
			st.CompletedAt = timePtr(ph.End)
		}
		out[i] = st
	}
	status.Phases = out
}

// nextTransitionLayout is how status.nextTransition reads: local time with
// its offset, so a city bureau sees the wall-clock time of its campaign.
const nextTransitionLayout = "2006-01-02 15:04:05 -07:00"

// setNextTransition records the next phase boundary, both as a timestamp and
// as local time in the campaign's zone (the printer column: kubectl prints a
// date column as an age, and a future time has none). A zero next clears
// both.
func setNextTransition(status *flycheckv1.CampaignStatus, next time.Time, loc *time.Location) {
	if next.IsZero() || loc == nil {
		status.NextTransitionAt, status.NextTransition = nil, ""
		return
	}
	status.NextTransitionAt = timePtr(next)
	status.NextTransition = next.Truncate(time.Second).In(loc).Format(nextTransitionLayout)
}

// freezePhases keeps the recorded states while suspended; phases added to the
// spec meanwhile are listed as Pending, and removed ones are dropped.
func freezePhases(status *flycheckv1.CampaignStatus, plan *schedule.Plan) {
	prev := make(map[string]flycheckv1.PhaseStatus, len(status.Phases))
	for _, p := range status.Phases {
		prev[p.Name] = p
	}
	out := make([]flycheckv1.PhaseStatus, len(plan.Phases))
	for i, ph := range plan.Phases {
		if p, ok := prev[ph.Name]; ok {
			out[i] = p
		} else {
			out[i] = flycheckv1.PhaseStatus{Name: ph.Name, State: flycheckv1.PhasePending}
		}
	}
	status.Phases = out
}

// currentPhase is the active phase that started last, as recorded in status
// (so a suspended campaign keeps showing where it stopped).
func currentPhase(status *flycheckv1.CampaignStatus) string {
	current := ""
	var started time.Time
	for _, p := range status.Phases {
		if p.State != flycheckv1.PhaseActive || p.StartedAt == nil {
			continue
		}
		if current == "" || !p.StartedAt.Time.Before(started) {
			current, started = p.Name, p.StartedAt.Time
		}
	}
	return current
}

// setCityRows keeps one status row per city, in spec order, preserving the
// counts other parts of the operator fill in.
func setCityRows(status *flycheckv1.CampaignStatus, cities []flycheckv1.City) {
	prev := make(map[string]flycheckv1.CityStatus, len(status.Cities))
	for _, c := range status.Cities {
		prev[c.Name] = c
	}
	out := make([]flycheckv1.CityStatus, len(cities))
	for i, c := range cities {
		row, ok := prev[c.Name]
		if !ok {
			row = flycheckv1.CityStatus{Name: c.Name}
		}
		out[i] = row
	}
	status.Cities = out
}

func readyReason(plan *schedule.Plan, now time.Time) string {
	if _, ok := plan.NextTransition(now); !ok {
		return CampaignReasonFinished
	}
	for _, s := range plan.StatesAt(now) {
		if s != schedule.Pending {
			return CampaignReasonOnSchedule
		}
	}
	return CampaignReasonNotStarted
}

func scheduleMessage(plan *schedule.Plan, now time.Time) string {
	next, ok := plan.NextTransition(now)
	if !ok {
		return fmt.Sprintf("all %d phases completed", len(plan.Phases))
	}
	var active []string
	for i, s := range plan.StatesAt(now) {
		if s == schedule.Active {
			active = append(active, plan.Phases[i].Name)
		}
	}
	when := next.In(plan.Location).Format(time.RFC3339)
	if len(active) == 0 {
		return "no phase active; next transition at " + when
	}
	return fmt.Sprintf("active: %s; next transition at %s", strings.Join(active, ", "), when)
}

func phaseLabel(camp *flycheckv1.Campaign, name string) string {
	for _, p := range camp.Spec.Phases {
		if p.Name == name && p.DisplayName != "" {
			return fmt.Sprintf("%s (%s)", name, p.DisplayName)
		}
	}
	return name
}

// setCampaignConditions sets Ready/Reconciling/Stalled: a launch that cannot
// proceed (a child's name taken) stalls; missing namespaces, which can still
// appear and are watched, make the campaign wait (Reconciling); otherwise
// the schedule says Ready.
func setCampaignConditions(conds conditionSetter, plan *schedule.Plan, now time.Time, suspended bool,
	missing []string, launchStall *stallError) {
	switch {
	case launchStall != nil:
		conds.stalled(launchStall.reason, launchStall.msg)
	case len(missing) > 0:
		conds.progressing(CampaignReasonNamespaceNotFound, fmt.Sprintf(
			"namespaces %s do not exist; phases still advance, but nothing is created in the cities until they do",
			strings.Join(missing, ", ")))
	case suspended:
		conds.ready(CampaignReasonSuspended, "transitions and child creation are frozen until spec.suspend is cleared")
	default:
		conds.ready(readyReason(plan, now), scheduleMessage(plan, now))
	}
}

// rulesSkippedNotes warns, once per change, of a city whose latest
// screening could not run some rules (a table missing from its extract).
func rulesSkippedNotes(before, after []flycheckv1.CityStatus) []note {
	was := map[string]int32{}
	for _, c := range before {
		was[c.Name] = c.RulesSkipped
	}
	var out []note
	for _, c := range after {
		if c.RulesSkipped > 0 && c.RulesSkipped != was[c.Name] {
			out = append(out, note{corev1.EventTypeWarning, CampaignReasonRulesSkipped, "Screening/" + c.Name, fmt.Sprintf(
				"%d rules did not run in the screening of %s: a table they need is missing from its extract (see the ScreeningJob's status.rulesSkipped)",
				c.RulesSkipped, c.Name)})
		}
	}
	return out
}

// transitionNotes are the events of the phase transitions observed at now:
// one per transition up to maxTransitionEvents, then one summary. The events
// API folds events that differ only in their note into one series, so the
// phase goes into the action to keep one event per transition.
func transitionNotes(camp *flycheckv1.Campaign, transitions []schedule.Transition, now time.Time) []note {
	var out []note
	for i, tr := range transitions {
		if i == maxTransitionEvents {
			rest := transitions[i:]
			last := rest[len(rest)-1]
			out = append(out, note{corev1.EventTypeWarning, CampaignReasonMissedTransitions, "CatchUp", fmt.Sprintf(
				"%d more transitions were missed (the last: phase %s %s at %s); status shows the current state",
				len(rest), last.Phase, strings.ToLower(string(last.To)), last.At.Format(time.RFC3339))})
			return out
		}
		reason, verb := CampaignReasonPhaseStarted, "started"
		switch {
		case tr.To == schedule.Completed:
			reason, verb = CampaignReasonPhaseCompleted, "completed"
		case tr.From != schedule.Pending:
			reason, verb = CampaignReasonPhaseReopened, "reopened (its dates moved)"
		}
		late := ""
		if now.Sub(tr.At) > time.Minute {
			late = fmt.Sprintf(" (observed late, at %s)", now.Format(time.RFC3339))
		}
		out = append(out, note{corev1.EventTypeNormal, reason, "Advance/" + tr.Phase,
			fmt.Sprintf("Phase %s %s at %s%s", phaseLabel(camp, tr.Phase), verb, tr.At.Format(time.RFC3339), late)})
	}
	return out
}
