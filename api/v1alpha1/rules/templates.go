package rules

import "sort"

// EvalKind says how the screening engine evaluates a template: from one
// line, from a group of lines, or from visits alone. It decides where in the
// engine's single pass a rule runs (docs/screening.md).
type EvalKind uint8

const (
	// EvalLine templates are decided from the line, its visit and its
	// institution alone; the decoding workers evaluate them as lines are read.
	EvalLine EvalKind = iota + 1
	// EvalGroup templates need other lines of the same visit or person; the
	// lines they may use are retained per institution and evaluated when the
	// institution is complete.
	EvalGroup
	// EvalVisit templates are visit-level and need only the visits (and
	// their amounts); they run when the institution is complete.
	EvalVisit
)

func (k EvalKind) String() string {
	switch k {
	case EvalLine:
		return "line"
	case EvalGroup:
		return "group"
	case EvalVisit:
		return "visit"
	}
	return "unset"
}

// TemplateSpec describes what a template is and needs. It is the single
// table that the validator, the CEL rules of the schema (generated from it),
// the engine, the generator, the oracle and the documentation agree on;
// docs/contributing.md lists what else a new template needs.
// +kubebuilder:object:generate=false
type TemplateSpec struct {
	Template Template
	Category Category
	// Kind is how the engine evaluates the template.
	Kind EvalKind
	// InpatientOnly templates look at inpatient visits only; their rules
	// accept visitType Inpatient or Any (both meaning inpatient).
	InpatientOnly bool
	// VisitLevel templates produce one finding per visit (feedetl_sn
	// empty); the others produce one finding per fee line.
	VisitLevel bool
	// Required params must be present; AnyOf lists groups of which at least
	// one member must be present; Optional params may be present. Any other
	// param is an error.
	Required []string
	AnyOf    [][]string
	Optional []string
	// Defaults are the values of optional integer params when absent
	// (Rule.IntParam applies them).
	Defaults map[string]int32
	// Periods allowed for params.per (when per is used).
	Periods []Period
	// Needs names an optional input table the template needs
	// ("diagnoses" or "persons"); without it the rule is skipped and
	// reported in the run statistics.
	Needs string
}

// Param names as written in YAML (json tags of Params).
const (
	ParamItems            = "items"
	ParamPrimaryItems     = "primaryItems"
	ParamIncludedItems    = "includedItems"
	ParamComponentItems   = "componentItems"
	ParamGender           = "gender"
	ParamMinAge           = "minAge"
	ParamMaxAge           = "maxAge"
	ParamAllowedVisitType = "allowedVisitType"
	ParamMinLevel         = "minLevel"
	ParamDiagCodes        = "diagCodes"
	ParamDiagPrefixes     = "diagPrefixes"
	ParamMaxPrice         = "maxPrice"
	ParamMaxUnits         = "maxUnits"
	ParamPer              = "per"
	ParamExtraDays        = "extraDays"
	ParamGraceDays        = "graceDays"
	ParamWithinDays       = "withinDays"
	ParamMinDays          = "minDays"
	ParamMinComponents    = "minComponents"
)

// templateTable lists every template in declaration order (the order of
// the generated schema rules). A new template is one entry here plus its
// constant in rules.go; docs/contributing.md lists the rest.
var templateTable = []TemplateSpec{
	{Template: GenderRestriction, Category: BeyondPaymentScope, Kind: EvalLine,
		Required: []string{ParamItems, ParamGender}},
	{Template: AgeRestriction, Category: BeyondPaymentScope, Kind: EvalLine,
		Required: []string{ParamItems}, AnyOf: [][]string{{ParamMinAge, ParamMaxAge}}},
	{Template: CareSettingRestriction, Category: BeyondPaymentScope, Kind: EvalLine,
		Required: []string{ParamItems, ParamAllowedVisitType}},
	{Template: FacilityLevelRestriction, Category: BeyondPaymentScope, Kind: EvalLine,
		Required: []string{ParamItems, ParamMinLevel}},
	{Template: CoveredIndication, Category: BeyondIndication, Kind: EvalLine, Needs: "diagnoses",
		Required: []string{ParamItems}, AnyOf: [][]string{{ParamDiagCodes, ParamDiagPrefixes}}},
	{Template: PriceCap, Category: ExcessQuantity, Kind: EvalLine,
		Required: []string{ParamItems, ParamMaxPrice}},
	{Template: MaxUnits, Category: ExcessQuantity, Kind: EvalGroup,
		Required: []string{ParamItems, ParamMaxUnits, ParamPer}, Periods: []Period{Day, Stay, Course}},
	{Template: PerDayExceedsStay, Category: FictitiousCharge, Kind: EvalGroup, InpatientOnly: true,
		Required: []string{ParamItems}, Optional: []string{ParamExtraDays},
		Defaults: map[string]int32{ParamExtraDays: 0}},
	{Template: ChargeAfterDischarge, Category: FictitiousCharge, Kind: EvalLine, InpatientOnly: true,
		Optional: []string{ParamItems, ParamGraceDays},
		Defaults: map[string]int32{ParamGraceDays: 0}},
	{Template: ChargeAfterDeath, Category: FictitiousCharge, Kind: EvalLine, Needs: "persons",
		Optional: []string{ParamItems}},
	{Template: OverlappingStays, Category: FictitiousCharge, Kind: EvalVisit, InpatientOnly: true, VisitLevel: true},
	{Template: AddOnWithoutPrimary, Category: FictitiousCharge, Kind: EvalGroup,
		Required: []string{ParamItems, ParamPrimaryItems}},
	{Template: InclusivePair, Category: DuplicateCharge, Kind: EvalGroup,
		Required: []string{ParamItems, ParamIncludedItems, ParamPer}, Periods: []Period{Day, Stay}},
	{Template: DuplicateLine, Category: DuplicateCharge, Kind: EvalGroup,
		Optional: []string{ParamItems}},
	{Template: UnbundledPackage, Category: DuplicateCharge, Kind: EvalGroup,
		Required: []string{ParamItems, ParamComponentItems}, Optional: []string{ParamMinComponents},
		Defaults: map[string]int32{ParamMinComponents: 1}},
	{Template: RepeatExamination, Category: OverExamination, Kind: EvalGroup,
		Required: []string{ParamItems, ParamWithinDays}},
	{Template: Readmission, Category: InpatientBehaviour, Kind: EvalVisit, InpatientOnly: true, VisitLevel: true,
		Needs: "diagnoses", Required: []string{ParamWithinDays}},
	{Template: BedOnlyDays, Category: InpatientBehaviour, Kind: EvalGroup, InpatientOnly: true, VisitLevel: true,
		Required: []string{ParamItems, ParamMinDays}},
}

var templateSpecs = map[Template]*TemplateSpec{}

func init() {
	for i := range templateTable {
		templateSpecs[templateTable[i].Template] = &templateTable[i]
	}
}

// Spec returns the specification of a template, or nil if it is unknown.
func Spec(t Template) *TemplateSpec { return templateSpecs[t] }

// Specs returns every template's specification in declaration order.
func Specs() []TemplateSpec { return append([]TemplateSpec(nil), templateTable...) }

// Templates returns every known template, sorted by name.
func Templates() []Template {
	out := make([]Template, 0, len(templateSpecs))
	for t := range templateSpecs {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TemplateCategory returns the category a template belongs to ("" if the
// template is unknown).
func TemplateCategory(t Template) Category {
	if s := templateSpecs[t]; s != nil {
		return s.Category
	}
	return ""
}

// IntParam returns the integer param name of the rule: its value if set,
// else the template's default. ok is false when it has neither (e.g. an
// AgeRestriction without maxAge: the range is open on that side).
func (r *Rule) IntParam(name string) (v int32, ok bool) {
	if p := r.Params.intField(name); p != nil && *p != nil {
		return **p, true
	}
	if s := templateSpecs[r.Template]; s != nil {
		v, ok = s.Defaults[name]
	}
	return v, ok
}

// intField returns the field of an integer param (nil for other names).
func (p *Params) intField(name string) **int32 {
	switch name {
	case ParamMinAge:
		return &p.MinAge
	case ParamMaxAge:
		return &p.MaxAge
	case ParamMinLevel:
		return &p.MinLevel
	case ParamExtraDays:
		return &p.ExtraDays
	case ParamGraceDays:
		return &p.GraceDays
	case ParamWithinDays:
		return &p.WithinDays
	case ParamMinDays:
		return &p.MinDays
	case ParamMinComponents:
		return &p.MinComponents
	}
	return nil
}

// present reports which params are set, by YAML name.
func (p *Params) present() map[string]bool {
	m := map[string]bool{}
	set := func(name string, ok bool) {
		if ok {
			m[name] = true
		}
	}
	set(ParamItems, p.Items != nil)
	set(ParamPrimaryItems, p.PrimaryItems != nil)
	set(ParamIncludedItems, p.IncludedItems != nil)
	set(ParamComponentItems, p.ComponentItems != nil)
	set(ParamGender, p.Gender != "")
	set(ParamMinAge, p.MinAge != nil)
	set(ParamMaxAge, p.MaxAge != nil)
	set(ParamAllowedVisitType, p.AllowedVisitType != "")
	set(ParamMinLevel, p.MinLevel != nil)
	set(ParamDiagCodes, p.DiagCodes != nil)
	set(ParamDiagPrefixes, p.DiagPrefixes != nil)
	set(ParamMaxPrice, p.MaxPrice != "")
	set(ParamMaxUnits, p.MaxUnits != "")
	set(ParamPer, p.Per != "")
	set(ParamExtraDays, p.ExtraDays != nil)
	set(ParamGraceDays, p.GraceDays != nil)
	set(ParamWithinDays, p.WithinDays != nil)
	set(ParamMinDays, p.MinDays != nil)
	set(ParamMinComponents, p.MinComponents != nil)
	return m
}
