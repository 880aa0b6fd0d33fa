package rules

import (
	"fmt"
	"regexp"
	"strings"
)

// FieldError is one problem with one rule, e.g.
//
//	rule "BPS-001": params.items: required for template GenderRestriction
//
// +kubebuilder:object:generate=false
type FieldError struct {
	// Source is "file.yaml" or "file.yaml#2" (document index) when known.
	Source string
	RuleID string
	// Index is the position of the rule in its RuleSet (0-based); it names
	// the rule when the id itself is missing.
	Index  int
	Field  string
	Detail string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.RuleID != "" {
		fmt.Fprintf(&b, "rule %q", e.RuleID)
	} else {
		fmt.Fprintf(&b, "rules[%d]", e.Index)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Detail)
	return b.String()
}

// ValidationError collects every problem found; Error() lists them one per
// line so that a catalogue author can fix a file in one go.
// +kubebuilder:object:generate=false
type ValidationError struct {
	Problems []FieldError
}

func (v *ValidationError) Error() string {
	msgs := make([]string, len(v.Problems))
	for i, p := range v.Problems {
		msgs[i] = p.Error()
	}
	return fmt.Sprintf("%d invalid rule field(s):\n  %s", len(v.Problems), strings.Join(msgs, "\n  "))
}

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	decimalPattern = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,4})?$`)
)

// Validate checks a list of rules: every rule on its own (see Rule.Validate)
// and that ids are unique. It returns nil or a *ValidationError listing
// every problem.
func Validate(rs []Rule) error {
	var probs []FieldError
	seen := map[string]int{}
	for i := range rs {
		probs = append(probs, rs[i].validate(i)...)
		if id := rs[i].ID; id != "" {
			if j, dup := seen[id]; dup {
				probs = append(probs, FieldError{RuleID: id, Index: i, Field: "id",
					Detail: fmt.Sprintf("duplicate id (also rules[%d])", j)})
			} else {
				seen[id] = i
			}
		}
	}
	if len(probs) == 0 {
		return nil
	}
	return &ValidationError{Problems: probs}
}

// Validate checks one rule and returns every problem found (nil if valid).
func (r *Rule) Validate() []FieldError { return r.validate(0) }

func (r *Rule) validate(index int) []FieldError {
	var probs []FieldError
	bad := func(field, format string, args ...any) {
		probs = append(probs, FieldError{RuleID: r.ID, Index: index, Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	switch {
	case r.ID == "":
		bad("id", "required")
	case len(r.ID) > 64:
		bad("id", "longer than 64 characters")
	case !idPattern.MatchString(r.ID):
		bad("id", "must match %s", idPattern)
	}
	spec := templateSpecs[r.Template]
	if spec == nil {
		if r.Template == "" {
			bad("template", "required")
		} else {
			bad("template", "unknown template %q (known: %v)", r.Template, Templates())
		}
	}
	switch {
	case r.Category == "":
		bad("category", "required")
	case !validCategory(r.Category):
		bad("category", "unknown category %q (known: %v)", r.Category, Categories)
	case spec != nil && spec.Category != r.Category:
		bad("category", "template %s belongs to category %s, not %s", r.Template, spec.Category, r.Category)
	}
	switch r.VisitType {
	case "", Any, Inpatient:
	case Outpatient:
		if spec != nil && spec.InpatientOnly {
			bad("visitType", "template %s looks at inpatient visits only; use Inpatient or Any", r.Template)
		}
	default:
		bad("visitType", "must be Outpatient, Inpatient or Any, not %q", r.VisitType)
	}
	if len(r.Description) > 1024 {
		bad("description", "longer than 1024 characters")
	}
	if spec == nil {
		return probs
	}

	// Presence: required, any-of, and nothing the template does not use.
	p := &r.Params
	present := p.present()
	allowed := map[string]bool{}
	for _, n := range spec.Required {
		allowed[n] = true
		if !present[n] {
			bad("params."+n, "required for template %s", r.Template)
		}
	}
	for _, n := range spec.Optional {
		allowed[n] = true
	}
	for _, group := range spec.AnyOf {
		any := false
		for _, n := range group {
			allowed[n] = true
			any = any || present[n]
		}
		if !any {
			bad("params."+strings.Join(group, "|"), "at least one is required for template %s", r.Template)
		}
	}
	for _, n := range paramOrder {
		if present[n] && !allowed[n] {
			bad("params."+n, "not used by template %s", r.Template)
		}
	}

	// Values.
	checkCodes := func(name string, codes []string, max int) {
		if codes == nil {
			return
		}
		if len(codes) == 0 {
			bad("params."+name, "must not be empty")
		}
		if len(codes) > 5000 {
			bad("params."+name, "more than 5000 entries; split the rule")
		}
		for i, c := range codes {
			if c == "" || len(c) > max || strings.ContainsAny(c, " \t\r\n,\"") {
				bad(fmt.Sprintf("params.%s[%d]", name, i), "invalid code %q (1..%d characters, no blanks, commas or quotes)", c, max)
			}
		}
	}
	checkCodes(ParamItems, p.Items, 64)
	checkCodes(ParamPrimaryItems, p.PrimaryItems, 64)
	checkCodes(ParamIncludedItems, p.IncludedItems, 64)
	checkCodes(ParamComponentItems, p.ComponentItems, 64)
	checkCodes(ParamDiagCodes, p.DiagCodes, 32)
	checkCodes(ParamDiagPrefixes, p.DiagPrefixes, 32)

	// The two item lists of a pair template must not overlap, so that "the
	// other item" is never the line itself (docs/rules.md relies on this).
	disjoint := func(a, b string, x, y []string) {
		in := map[string]bool{}
		for _, c := range x {
			in[c] = true
		}
		for i, c := range y {
			if in[c] {
				bad(fmt.Sprintf("params.%s[%d]", b, i), "code %q is also in params.%s", c, a)
			}
		}
	}
	disjoint(ParamItems, ParamPrimaryItems, p.Items, p.PrimaryItems)
	disjoint(ParamItems, ParamIncludedItems, p.Items, p.IncludedItems)
	disjoint(ParamItems, ParamComponentItems, p.Items, p.ComponentItems)

	if p.Gender != "" && p.Gender != Male && p.Gender != Female {
		bad("params.gender", "must be Male or Female, not %q", p.Gender)
	}
	checkInt := func(name string, v *int32, lo, hi int32) {
		if v != nil && (*v < lo || *v > hi) {
			bad("params."+name, "must be between %d and %d, not %d", lo, hi, *v)
		}
	}
	checkInt(ParamMinAge, p.MinAge, 0, 150)
	checkInt(ParamMaxAge, p.MaxAge, 0, 150)
	if p.MinAge != nil && p.MaxAge != nil && *p.MinAge > *p.MaxAge {
		bad("params.minAge", "greater than maxAge (%d > %d)", *p.MinAge, *p.MaxAge)
	}
	if p.AllowedVisitType != "" && p.AllowedVisitType != Outpatient && p.AllowedVisitType != Inpatient {
		bad("params.allowedVisitType", "must be Outpatient or Inpatient, not %q", p.AllowedVisitType)
	}
	checkInt(ParamMinLevel, p.MinLevel, 1, 3)
	if p.MaxPrice != "" && !decimalPattern.MatchString(p.MaxPrice) {
		bad("params.maxPrice", "must be a non-negative decimal with at most 4 fractional digits, not %q", p.MaxPrice)
	}
	if p.MaxUnits != "" && !decimalPattern.MatchString(p.MaxUnits) {
		bad("params.maxUnits", "must be a non-negative decimal with at most 4 fractional digits, not %q", p.MaxUnits)
	}
	if p.Per != "" {
		ok := false
		for _, per := range spec.Periods {
			ok = ok || per == p.Per
		}
		if !ok && len(spec.Periods) > 0 {
			bad("params.per", "must be one of %v for template %s, not %q", spec.Periods, r.Template, p.Per)
		}
	}
	checkInt(ParamExtraDays, p.ExtraDays, 0, 365)
	checkInt(ParamGraceDays, p.GraceDays, 0, 365)
	checkInt(ParamWithinDays, p.WithinDays, 0, 3650)
	checkInt(ParamMinDays, p.MinDays, 1, 3650)
	checkInt(ParamMinComponents, p.MinComponents, 1, 5000)
	if p.MinComponents != nil && p.ComponentItems != nil && int(*p.MinComponents) > len(p.ComponentItems) {
		bad("params.minComponents", "greater than the number of componentItems (%d > %d)", *p.MinComponents, len(p.ComponentItems))
	}
	return probs
}

var paramOrder = []string{
	ParamItems, ParamPrimaryItems, ParamIncludedItems, ParamComponentItems,
	ParamGender, ParamMinAge, ParamMaxAge, ParamAllowedVisitType, ParamMinLevel,
	ParamDiagCodes, ParamDiagPrefixes, ParamMaxPrice, ParamMaxUnits, ParamPer,
	ParamExtraDays, ParamGraceDays, ParamWithinDays, ParamMinDays, ParamMinComponents,
}

func validCategory(c Category) bool {
	for _, k := range Categories {
		if k == c {
			return true
		}
	}
	return false
}

// ParseDecimal parses a non-negative or negative decimal string with at most
// four fractional digits into fixed point with scale 10^-4 ("12.5" →
// 125000). It is used for rule params; the engine has its own byte parser
// with the same semantics for the claims data.
func ParseDecimal(s string) (int64, error) {
	neg := false
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var v int64
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if digits >= 14 {
			return 0, fmt.Errorf("decimal %q: too many digits", s)
		}
		v = v*10 + int64(s[i]-'0')
		digits++
	}
	if digits == 0 {
		return 0, fmt.Errorf("decimal %q: no digits", s)
	}
	frac := 0
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if frac == 4 {
				return 0, fmt.Errorf("decimal %q: more than 4 fractional digits", s)
			}
			v = v*10 + int64(s[i]-'0')
			frac++
		}
		if frac == 0 {
			return 0, fmt.Errorf("decimal %q: no digits after the point", s)
		}
	}
	if i != len(s) {
		return 0, fmt.Errorf("decimal %q: unexpected character %q", s, s[i])
	}
	for ; frac < 4; frac++ {
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, nil
}
