// Package schedule is the phase calendar of a campaign (专项治理工作方案的阶段安排):
// it turns the dated phases of a Campaign into instants in the campaign's
// time zone and answers, for any instant, which phases are pending, active or
// completed and when the next change happens.
//
// Everything here is a pure function of the plan and the instant asked about,
// so the controller can recompute status from scratch on every reconcile and
// tests can ask about any moment without waiting for it.
package schedule

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"
)

// State is where a phase stands at a given instant.
type State string

const (
	Pending   State = "Pending"
	Active    State = "Active"
	Completed State = "Completed"
)

// PhaseSpec is a phase as written in a manifest: start and end are either a
// date ("2020-05-01") or an RFC 3339 date-time ("2026-11-22T10:00:00+08:00").
type PhaseSpec struct {
	Name  string
	Start string
	End   string
}

// Phase is a phase resolved to instants. It is active in [Start, End).
type Phase struct {
	Name  string
	Start time.Time
	End   time.Time
}

// Plan is a campaign's resolved calendar. Phases keep manifest order.
type Plan struct {
	Location *time.Location
	Phases   []Phase
}

// DefaultTimeZone is used when a campaign does not name one.
const DefaultTimeZone = "Asia/Shanghai"

// ErrUnknownTimeZone wraps every failure to load the campaign's zone, so the
// controller can report it with its own reason.
var ErrUnknownTimeZone = errors.New("unknown time zone")

var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// LoadLocation resolves an IANA zone name; "" means DefaultTimeZone. "Local"
// is refused because it would make the schedule depend on the machine.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	if name == "Local" {
		return nil, fmt.Errorf("%w %q: name an IANA zone such as %s", ErrUnknownTimeZone, name, DefaultTimeZone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrUnknownTimeZone, name, err)
	}
	return loc, nil
}

// ParseStart resolves a phase start: a date means the first instant of that
// day in loc.
func ParseStart(s string, loc *time.Location) (time.Time, error) {
	return parseInstant(s, loc, false)
}

// ParseEnd resolves a phase end as an exclusive bound: a date means the whole
// of that day is included, so the bound is the first instant of the next day
// (computed on the calendar, so days of 23 or 25 hours under daylight saving
// still end at local midnight).
func ParseEnd(s string, loc *time.Location) (time.Time, error) {
	return parseInstant(s, loc, true)
}

func parseInstant(s string, loc *time.Location, endOfDay bool) (time.Time, error) {
	if dateOnly.MatchString(s) {
		d, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a valid date: %v", s, err)
		}
		if endOfDay {
			d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2020-05-01) nor an RFC 3339 date-time (2020-05-01T08:00:00+08:00)", s)
	}
	return t, nil
}

// Parse resolves a campaign's phases in the named zone. Every error names the
// phase and field at fault.
func Parse(timeZone string, specs []PhaseSpec) (*Plan, error) {
	loc, err := LoadLocation(timeZone)
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, errors.New("a campaign needs at least one phase")
	}
	plan := &Plan{Location: loc, Phases: make([]Phase, 0, len(specs))}
	seen := make(map[string]bool, len(specs))
	for _, ps := range specs {
		if seen[ps.Name] {
			return nil, fmt.Errorf("phase %q: name used twice", ps.Name)
		}
		seen[ps.Name] = true
		start, err := ParseStart(ps.Start, loc)
		if err != nil {
			return nil, fmt.Errorf("phase %q: start: %w", ps.Name, err)
		}
		end, err := ParseEnd(ps.End, loc)
		if err != nil {
			return nil, fmt.Errorf("phase %q: end: %w", ps.Name, err)
		}
		if end.Before(start) {
			return nil, fmt.Errorf("phase %q: end %s is before start %s", ps.Name, ps.End, ps.Start)
		}
		plan.Phases = append(plan.Phases, Phase{Name: ps.Name, Start: start, End: end})
	}
	return plan, nil
}

// StateAt says where phase p stands at t.
func (p Phase) StateAt(t time.Time) State {
	switch {
	case t.Before(p.Start):
		return Pending
	case t.Before(p.End):
		return Active
	default:
		return Completed
	}
}

// StatesAt returns the state of every phase at t, in plan order.
func (pl *Plan) StatesAt(t time.Time) []State {
	out := make([]State, len(pl.Phases))
	for i, ph := range pl.Phases {
		out[i] = ph.StateAt(t)
	}
	return out
}

// CurrentPhase is the active phase that started last (phases may overlap:
// Jiangsu's fly-check runs alongside its spot-check). Ties go to the phase
// listed later. "" when nothing is active.
func (pl *Plan) CurrentPhase(t time.Time) string {
	current := -1
	for i, ph := range pl.Phases {
		if ph.StateAt(t) != Active {
			continue
		}
		if current < 0 || !ph.Start.Before(pl.Phases[current].Start) {
			current = i
		}
	}
	if current < 0 {
		return ""
	}
	return pl.Phases[current].Name
}

// NextTransition is the first phase boundary strictly after t; ok is false
// once every phase has completed.
func (pl *Plan) NextTransition(t time.Time) (next time.Time, ok bool) {
	for _, ph := range pl.Phases {
		for _, b := range [2]time.Time{ph.Start, ph.End} {
			if b.After(t) && (!ok || b.Before(next)) {
				next, ok = b, true
			}
		}
	}
	return next, ok
}

// Transition is one phase changing state.
type Transition struct {
	Phase string
	From  State
	To    State
	At    time.Time // the scheduled boundary, not the moment it was observed
}

// Diff lists the transitions that take phases from the states in prev to
// their states at t, in the order they happened (ties keep plan order). A phase missing from prev counts as Pending. A phase
// that went straight from Pending to Completed yields both transitions, so
// catching up after downtime reports every boundary that was crossed.
// Transitions backwards (a phase moved into the future) are reported too,
// with From later than To.
func (pl *Plan) Diff(prev map[string]State, t time.Time) []Transition {
	var out []Transition
	for _, ph := range pl.Phases {
		was, ok := prev[ph.Name]
		if !ok {
			was = Pending
		}
		now := ph.StateAt(t)
		if was == now {
			continue
		}
		switch {
		case was == Pending && now == Completed:
			out = append(out,
				Transition{Phase: ph.Name, From: Pending, To: Active, At: ph.Start},
				Transition{Phase: ph.Name, From: Active, To: Completed, At: ph.End})
		case now == Active && was == Pending:
			out = append(out, Transition{Phase: ph.Name, From: was, To: now, At: ph.Start})
		case now == Completed:
			out = append(out, Transition{Phase: ph.Name, From: was, To: now, At: ph.End})
		default: // backwards: the phase's dates moved past t
			out = append(out, Transition{Phase: ph.Name, From: was, To: now, At: t})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
