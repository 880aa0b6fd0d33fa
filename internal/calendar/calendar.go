// Package calendar counts working days (工作日) on the official calendar of
// mainland China: Monday to Friday are working days, except the statutory
// holidays (法定节假日) the State Council announces each year; Saturdays and
// Sundays are rest days, except the make-up working days (调休上班) announced
// with them. Deadlines in working days ("reply within 15 working days",
// Luohe 2020) are counted on it.
//
// Which years are known:
//   - 2002–2027 come built in, from github.com/6tail/lunar-go v1.4.7
//     (HolidayUtil), corrected where it differs from the State Council's
//     notice (see corrections below).
//   - Any other year (2028 onwards, until the library is upgraded) comes from
//     the operator's holiday ConfigMap (Parse, docs/cases.md). A year given
//     there replaces the built-in data for that year, so a wrong built-in
//     year can also be fixed without a new release.
//
// A question about a year known to neither fails with *YearNotCoveredError:
// a deadline is never counted on a guessed calendar.
package calendar

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// Date is a calendar day, without time or zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// D is a short constructor, mostly for tables.
func D(year int, month time.Month, day int) Date { return Date{year, month, day} }

// DateOf is the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// AddDays moves by n calendar days.
func (d Date) AddDays(n int) Date { return DateOf(d.utc().AddDate(0, 0, n)) }

func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.utc().Before(e.utc()) }

// Start is the first instant of the day in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

func (d Date) String() string { return d.utc().Format(time.DateOnly) }

// Kind is what the official calendar says of a day that is not an
// ordinary weekday or weekend.
type Kind int

const (
	// Holiday is a rest day on a weekday (or a weekend inside a holiday).
	Holiday Kind = iota + 1
	// Workday is a make-up working day on a weekend (调休上班).
	Workday
)

func (k Kind) String() string {
	switch k {
	case Holiday:
		return "holiday"
	case Workday:
		return "workday"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Special is one announced day: a holiday or a make-up working day.
type Special struct {
	Date Date
	Kind Kind
	// The festival it belongs to, e.g. "国庆节".
	Name string
}

// YearNotCoveredError says the calendar does not know a year's holidays.
type YearNotCoveredError struct{ Year int }

func (e *YearNotCoveredError) Error() string {
	return fmt.Sprintf("the working-day calendar does not cover %d: add the year's holidays and make-up working days to the holiday ConfigMap", e.Year)
}

// IsYearNotCovered reports whether err is (or wraps) a *YearNotCoveredError,
// and which year.
func IsYearNotCovered(err error) (int, bool) {
	e, ok := errors.AsType[*YearNotCoveredError](err)
	if !ok {
		return 0, false
	}
	return e.Year, true
}

// Calendar answers working-day questions for the years it covers.
type Calendar struct {
	years map[int]map[Date]Special
}

// New is the built-in calendar with the given years added; a year present
// in extra replaces the built-in one entirely. Days of one year must not
// repeat.
func New(extra []Special) (*Calendar, error) {
	b := builtin()
	c := &Calendar{years: make(map[int]map[Date]Special, len(b)+1)}
	for y, days := range b {
		c.years[y] = days
	}
	given := map[int]map[Date]Special{}
	for _, s := range extra {
		if s.Kind != Holiday && s.Kind != Workday {
			return nil, fmt.Errorf("%s: unknown kind %v", s.Date, s.Kind)
		}
		y := given[s.Date.Year]
		if y == nil {
			y = map[Date]Special{}
			given[s.Date.Year] = y
		}
		if _, dup := y[s.Date]; dup {
			return nil, fmt.Errorf("%s is listed twice", s.Date)
		}
		y[s.Date] = s
	}
	for year, days := range given {
		c.years[year] = days
	}
	return c, nil
}

// Builtin is the calendar without additions.
func Builtin() *Calendar {
	c, _ := New(nil)
	return c
}

// Years lists the covered years in ascending order.
func (c *Calendar) Years() []int {
	out := make([]int, 0, len(c.years))
	for y := range c.years {
		out = append(out, y)
	}
	slices.Sort(out)
	return out
}

// Covers reports whether the calendar knows the year.
func (c *Calendar) Covers(year int) bool {
	_, ok := c.years[year]
	return ok
}

// Special returns the announced entry for d, if any.
func (c *Calendar) Special(d Date) (Special, bool, error) {
	days, ok := c.years[d.Year]
	if !ok {
		return Special{}, false, &YearNotCoveredError{d.Year}
	}
	s, ok := days[d]
	return s, ok, nil
}

// IsWorkingDay says whether d is a working day.
func (c *Calendar) IsWorkingDay(d Date) (bool, error) {
	s, ok, err := c.Special(d)
	if err != nil {
		return false, err
	}
	if ok {
		return s.Kind == Workday, nil
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday, nil
}

// AddWorkingDays is the n-th working day after d (n ≥ 1): the day d itself
// does not count, as in Chinese administrative practice (期间开始之日不计算在内).
// n = 0 returns d.
func (c *Calendar) AddWorkingDays(d Date, n int) (Date, error) {
	if n < 0 {
		return Date{}, fmt.Errorf("negative working days %d", n)
	}
	for n > 0 {
		d = d.AddDays(1)
		ok, err := c.IsWorkingDay(d)
		if err != nil {
			return Date{}, err
		}
		if ok {
			n--
		}
	}
	return d, nil
}

// WorkingDaysBetween counts the working days after from up to and including
// to (0 when to is not after from).
func (c *Calendar) WorkingDaysBetween(from, to Date) (int, error) {
	n := 0
	for d := from.AddDays(1); !to.Before(d); d = d.AddDays(1) {
		ok, err := c.IsWorkingDay(d)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// corrections are built-in days where lunar-go v1.4.7 differs from the
// State Council's notice. Each is checked by the reference table test.
var corrections = []Special{
	// 国办发明电〔2012〕33号: "国庆节：10月1日至7日放假调休，共7天。9月29日
	// （星期日）、10月12日（星期六）上班。" The library lacks 12 October.
	{D(2013, time.October, 12), Workday, "国庆节"},
}

var (
	builtinOnce  sync.Once
	builtinYears map[int]map[Date]Special
)

// builtin reads lunar-go's table once. A year is covered when the library
// has its Spring Festival: the first days of the table (29–30 December
// 2001) are make-up days for 2002's New Year and do not make 2001 known.
func builtin() map[int]map[Date]Special {
	builtinOnce.Do(func() {
		builtinYears = map[int]map[Date]Special{}
		all := map[Date]Special{}
		for y := 2001; y <= 2100; y++ {
			l := HolidayUtil.GetHolidaysByYear(y)
			for e := l.Front(); e != nil; e = e.Next() {
				h := e.Value.(*HolidayUtil.Holiday)
				d, err := ParseDate(h.GetDay())
				if err != nil {
					continue
				}
				kind := Holiday
				if h.IsWork() {
					kind = Workday
				}
				all[d] = Special{d, kind, h.GetName()}
				if h.GetName() == "春节" && strings.HasPrefix(h.GetTarget(), fmt.Sprint(y)) {
					builtinYears[y] = map[Date]Special{}
				}
			}
		}
		for d, s := range all {
			if days, ok := builtinYears[d.Year]; ok {
				days[d] = s
			}
		}
		for _, s := range corrections {
			builtinYears[s.Date.Year][s.Date] = s
		}
	})
	return builtinYears
}
