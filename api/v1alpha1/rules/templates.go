package rules

import "sort"

// TemplateSpec describes what a template needs. It is the single table the
// validator, the engine and the documentation agree on.
// +kubebuilder:object:generate=false
type TemplateSpec struct {
	Template Template
	Category Category
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

var templateSpecs = map[Template]*TemplateSpec{
	GenderRestriction: {Category: BeyondPaymentScope,
		Required: []string{ParamItems, ParamGender}},
	AgeRestriction: {Category: BeyondPaymentScope,
		Required: []string{ParamItems}, AnyOf: [][]string{{ParamMinAge, ParamMaxAge}}},
	CareSettingRestriction: {Category: BeyondPaymentScope,
		Required: []string{ParamItems, ParamAllowedVisitType}},
	FacilityLevelRestriction: {Category: BeyondPaymentScope,
		Required: []string{ParamItems, ParamMinLevel}},
	CoveredIndication: {Category: BeyondIndication, Needs: "diagnoses",
		Required: []string{ParamItems}, AnyOf: [][]string{{ParamDiagCodes, ParamDiagPrefixes}}},
	PriceCap: {Category: ExcessQuantity,
		Required: []string{ParamItems, ParamMaxPrice}},
	MaxUnits: {Category: ExcessQuantity,
		Required: []string{ParamItems, ParamMaxUnits, ParamPer}, Periods: []Period{Day, Stay, Course}},
	PerDayExceedsStay: {Category: FictitiousCharge, InpatientOnly: true,
		Required: []string{ParamItems}, Optional: []string{ParamExtraDays}},
	ChargeAfterDischarge: {Category: FictitiousCharge, InpatientOnly: true,
		Optional: []string{ParamItems, ParamGraceDays}},
	ChargeAfterDeath: {Category: FictitiousCharge, Needs: "persons",
		Optional: []string{ParamItems}},
	OverlappingStays: {Category: FictitiousCharge, InpatientOnly: true, VisitLevel: true},
	AddOnWithoutPrimary: {Category: FictitiousCharge,
		Required: []string{ParamItems, ParamPrimaryItems}},
	InclusivePair: {Category: DuplicateCharge,
		Required: []string{ParamItems, ParamIncludedItems, ParamPer}, Periods: []Period{Day, Stay}},
	DuplicateLine: {Category: DuplicateCharge,
		Optional: []string{ParamItems}},
	UnbundledPackage: {Category: DuplicateCharge,
		Required: []string{ParamItems, ParamComponentItems}, Optional: []string{ParamMinComponents}},
	RepeatExamination: {Category: OverExamination,
		Required: []string{ParamItems, ParamWithinDays}},
	Readmission: {Category: InpatientBehaviour, InpatientOnly: true, VisitLevel: true, Needs: "diagnoses",
		Required: []string{ParamWithinDays}},
	BedOnlyDays: {Category: InpatientBehaviour, InpatientOnly: true, VisitLevel: true,
		Required: []string{ParamItems, ParamMinDays}},
}

func init() {
	for t, s := range templateSpecs {
		s.Template = t
	}
}

// Spec returns the specification of a template, or nil if it is unknown.
func Spec(t Template) *TemplateSpec { return templateSpecs[t] }

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
