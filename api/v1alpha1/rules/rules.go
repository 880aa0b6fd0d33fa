package rules

// The Enum markers of Template and Category and the XValidation markers of
// Rule are written by hack/genmarkers from the template table (templates.go)
// and Categories: run `make generate` after changing them, never edit the
// markers by hand.

// Category is one of the six rule types of the campaign plans (规则类型) plus
// InpatientBehaviour for 分解住院 / 挂床住院.
// +kubebuilder:validation:Enum=ExcessQuantity;BeyondIndication;BeyondPaymentScope;OverExamination;FictitiousCharge;DuplicateCharge;InpatientBehaviour
type Category string

const (
	ExcessQuantity     Category = "ExcessQuantity"     // 超量收费
	BeyondIndication   Category = "BeyondIndication"   // 超医保适应症
	BeyondPaymentScope Category = "BeyondPaymentScope" // 超医保支付范围
	OverExamination    Category = "OverExamination"    // 过度检查
	FictitiousCharge   Category = "FictitiousCharge"   // 虚记收费
	DuplicateCharge    Category = "DuplicateCharge"    // 重复收费
	InpatientBehaviour Category = "InpatientBehaviour" // 分解住院 / 挂床住院
)

// Categories lists every category in a fixed order (the order used in reports).
var Categories = []Category{
	ExcessQuantity, BeyondIndication, BeyondPaymentScope, OverExamination,
	FictitiousCharge, DuplicateCharge, InpatientBehaviour,
}

// Template names one screening behaviour. Each template belongs to exactly one
// category (see TemplateCategory); docs/rules.md defines its semantics.
// +kubebuilder:validation:Enum=GenderRestriction;AgeRestriction;CareSettingRestriction;FacilityLevelRestriction;CoveredIndication;PriceCap;MaxUnits;PerDayExceedsStay;ChargeAfterDischarge;ChargeAfterDeath;OverlappingStays;AddOnWithoutPrimary;InclusivePair;DuplicateLine;UnbundledPackage;RepeatExamination;Readmission;BedOnlyDays
type Template string

const (
	GenderRestriction        Template = "GenderRestriction"        // 限性别
	AgeRestriction           Template = "AgeRestriction"           // 限年龄
	CareSettingRestriction   Template = "CareSettingRestriction"   // 限住院/门诊
	FacilityLevelRestriction Template = "FacilityLevelRestriction" // 限医院级别
	CoveredIndication        Template = "CoveredIndication"        // 限适应症
	PriceCap                 Template = "PriceCap"                 // 超标准价格
	MaxUnits                 Template = "MaxUnits"                 // 超数量(日/次/疗程)
	PerDayExceedsStay        Template = "PerDayExceedsStay"        // 按日计费项目超住院天数
	ChargeAfterDischarge     Template = "ChargeAfterDischarge"     // 出院后收费
	ChargeAfterDeath         Template = "ChargeAfterDeath"         // 死亡后收费
	OverlappingStays         Template = "OverlappingStays"         // 同时段多机构住院
	AddOnWithoutPrimary      Template = "AddOnWithoutPrimary"      // 附加项目无主项目
	InclusivePair            Template = "InclusivePair"            // 包含项目重复收费
	DuplicateLine            Template = "DuplicateLine"            // 跨结算重复明细
	UnbundledPackage         Template = "UnbundledPackage"         // 套餐与组成项目同收
	RepeatExamination        Template = "RepeatExamination"        // 短期重复检查
	Readmission              Template = "Readmission"              // 分解住院
	BedOnlyDays              Template = "BedOnlyDays"              // 挂床住院
)

// VisitType selects which visits (就诊) a rule looks at. A visit is Inpatient
// when its med_type starts with "2", otherwise Outpatient.
// +kubebuilder:validation:Enum=Outpatient;Inpatient;Any
type VisitType string

const (
	Outpatient VisitType = "Outpatient"
	Inpatient  VisitType = "Inpatient"
	Any        VisitType = "Any"
)

// Period is the grouping window of MaxUnits and InclusivePair.
// +kubebuilder:validation:Enum=Day;Stay;Course
type Period string

const (
	// Day groups by visit and calendar day of fee_ocur_time.
	Day Period = "Day"
	// Stay groups by visit (a whole inpatient stay or outpatient visit).
	Stay Period = "Stay"
	// Course groups by person and institution over every screened visit
	// (the 疗程 is approximated by the screened data window).
	Course Period = "Course"
)

// Gender is the only gender an item may be paid for (GenderRestriction).
// In the claims data gend "1" is male and "2" is female.
// +kubebuilder:validation:Enum=Male;Female
type Gender string

const (
	Male   Gender = "Male"
	Female Gender = "Female"
)

// Rule is one rule instance (筛查模型): a template with parameters.
//
// The schema checks what CEL can (the category of each template, the
// parameters it requires); Validate checks the rest (unused parameters,
// decimal precision, duplicate ids) and the RuleSet controller reports it.
// +kubebuilder:validation:XValidation:rule="{'GenderRestriction': 'BeyondPaymentScope', 'AgeRestriction': 'BeyondPaymentScope', 'CareSettingRestriction': 'BeyondPaymentScope', 'FacilityLevelRestriction': 'BeyondPaymentScope', 'CoveredIndication': 'BeyondIndication', 'PriceCap': 'ExcessQuantity', 'MaxUnits': 'ExcessQuantity', 'PerDayExceedsStay': 'FictitiousCharge', 'ChargeAfterDischarge': 'FictitiousCharge', 'ChargeAfterDeath': 'FictitiousCharge', 'OverlappingStays': 'FictitiousCharge', 'AddOnWithoutPrimary': 'FictitiousCharge', 'InclusivePair': 'DuplicateCharge', 'DuplicateLine': 'DuplicateCharge', 'UnbundledPackage': 'DuplicateCharge', 'RepeatExamination': 'OverExamination', 'Readmission': 'InpatientBehaviour', 'BedOnlyDays': 'InpatientBehaviour'}[self.template] == self.category",message="category does not match the template (see docs/rules.md)",fieldPath=".category"
// +kubebuilder:validation:XValidation:rule="!(self.template in ['GenderRestriction', 'AgeRestriction', 'CareSettingRestriction', 'FacilityLevelRestriction', 'CoveredIndication', 'PriceCap', 'MaxUnits', 'PerDayExceedsStay', 'AddOnWithoutPrimary', 'InclusivePair', 'UnbundledPackage', 'RepeatExamination', 'BedOnlyDays']) || (has(self.params.items) && size(self.params.items) > 0)",message="params.items is required by this template",fieldPath=".params.items"
// +kubebuilder:validation:XValidation:rule="self.template != 'AddOnWithoutPrimary' || (has(self.params.primaryItems) && size(self.params.primaryItems) > 0)",message="params.primaryItems is required by AddOnWithoutPrimary",fieldPath=".params.primaryItems"
// +kubebuilder:validation:XValidation:rule="self.template != 'InclusivePair' || (has(self.params.includedItems) && size(self.params.includedItems) > 0)",message="params.includedItems is required by InclusivePair",fieldPath=".params.includedItems"
// +kubebuilder:validation:XValidation:rule="self.template != 'UnbundledPackage' || (has(self.params.componentItems) && size(self.params.componentItems) > 0)",message="params.componentItems is required by UnbundledPackage",fieldPath=".params.componentItems"
// +kubebuilder:validation:XValidation:rule="self.template != 'GenderRestriction' || has(self.params.gender)",message="params.gender is required by GenderRestriction",fieldPath=".params.gender"
// +kubebuilder:validation:XValidation:rule="self.template != 'CareSettingRestriction' || has(self.params.allowedVisitType)",message="params.allowedVisitType is required by CareSettingRestriction",fieldPath=".params.allowedVisitType"
// +kubebuilder:validation:XValidation:rule="self.template != 'FacilityLevelRestriction' || has(self.params.minLevel)",message="params.minLevel is required by FacilityLevelRestriction",fieldPath=".params.minLevel"
// +kubebuilder:validation:XValidation:rule="self.template != 'PriceCap' || has(self.params.maxPrice)",message="params.maxPrice is required by PriceCap",fieldPath=".params.maxPrice"
// +kubebuilder:validation:XValidation:rule="self.template != 'MaxUnits' || has(self.params.maxUnits)",message="params.maxUnits is required by MaxUnits",fieldPath=".params.maxUnits"
// +kubebuilder:validation:XValidation:rule="!(self.template in ['MaxUnits', 'InclusivePair']) || has(self.params.per)",message="params.per is required by this template",fieldPath=".params.per"
// +kubebuilder:validation:XValidation:rule="!(self.template in ['RepeatExamination', 'Readmission']) || has(self.params.withinDays)",message="params.withinDays is required by this template",fieldPath=".params.withinDays"
// +kubebuilder:validation:XValidation:rule="self.template != 'BedOnlyDays' || has(self.params.minDays)",message="params.minDays is required by BedOnlyDays",fieldPath=".params.minDays"
// +kubebuilder:validation:XValidation:rule="self.template != 'AgeRestriction' || has(self.params.minAge) || has(self.params.maxAge)",message="params.minAge or params.maxAge is required by AgeRestriction",fieldPath=".params"
// +kubebuilder:validation:XValidation:rule="self.template != 'CoveredIndication' || (has(self.params.diagCodes) && size(self.params.diagCodes) > 0) || (has(self.params.diagPrefixes) && size(self.params.diagPrefixes) > 0)",message="params.diagCodes or params.diagPrefixes is required by CoveredIndication",fieldPath=".params"
type Rule struct {
	// ID identifies the rule in findings; unique across all loaded RuleSets.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	ID string `json:"id"`
	// Category must be the category of the template (docs/rules.md).
	Category Category `json:"category"`
	// Template selects the behaviour.
	Template Template `json:"template"`
	// VisitType restricts the rule to outpatient or inpatient visits.
	// Defaults to Any. Inpatient-only templates accept Inpatient or Any.
	// +optional
	VisitType VisitType `json:"visitType,omitempty"`
	// Description is free text for people (e.g. the policy clause).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
	// Params are the template parameters; which ones are required or allowed
	// depends on the template.
	Params Params `json:"params"`
}

// Params is the flat union of every template's parameters. A parameter not
// used by the rule's template is a validation error, so a typo in the
// template name cannot silently drop a condition.
//
// Decimals (prices, quantities) are strings such as "12.5" with at most four
// fractional digits: the engine computes in fixed point and money is never a
// float.
type Params struct {
	// Items are national item codes (hilist_code) the rule applies to; for
	// InclusivePair the including item, for UnbundledPackage the package,
	// for BedOnlyDays the bed and nursing items.
	// +optional
	// +kubebuilder:validation:MaxItems=5000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	Items []string `json:"items,omitempty"`
	// PrimaryItems (AddOnWithoutPrimary): at least one of them must be billed
	// on the same visit and day as the add-on item.
	// +optional
	// +kubebuilder:validation:MaxItems=5000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	PrimaryItems []string `json:"primaryItems,omitempty"`
	// IncludedItems (InclusivePair): items whose fee is included in Items.
	// +optional
	// +kubebuilder:validation:MaxItems=5000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	IncludedItems []string `json:"includedItems,omitempty"`
	// ComponentItems (UnbundledPackage): the components of the package.
	// +optional
	// +kubebuilder:validation:MaxItems=5000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	ComponentItems []string `json:"componentItems,omitempty"`
	// Gender (GenderRestriction): the gender the items are restricted to.
	// +optional
	Gender Gender `json:"gender,omitempty"`
	// MinAge and MaxAge (AgeRestriction): the inclusive age range, in years
	// at admission, in which the items are payable. At least one is required.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=150
	MinAge *int32 `json:"minAge,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=150
	// MaxAge (AgeRestriction): the oldest age, in years, at which the items
	// are payable.
	MaxAge *int32 `json:"maxAge,omitempty"`
	// AllowedVisitType (CareSettingRestriction): the only visit type in which
	// the items are payable (Outpatient or Inpatient).
	// +optional
	AllowedVisitType VisitType `json:"allowedVisitType,omitempty"`
	// MinLevel (FacilityLevelRestriction): the lowest hospital level (hosp_lv
	// 1..3) at which the items are payable.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3
	MinLevel *int32 `json:"minLevel,omitempty"`
	// DiagCodes and DiagPrefixes (CoveredIndication): ICD-10 codes (exact) and
	// code prefixes of which the visit needs at least one diagnosis.
	// +optional
	// +kubebuilder:validation:MaxItems=5000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=32
	DiagCodes []string `json:"diagCodes,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=5000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=32
	// ICD-10 code prefixes (see diagCodes).
	DiagPrefixes []string `json:"diagPrefixes,omitempty"`
	// MaxPrice (PriceCap): the catalogue price cap per unit, in yuan.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]{1,12}(\.[0-9]{1,4})?$`
	MaxPrice string `json:"maxPrice,omitempty"`
	// MaxUnits (MaxUnits): the most units (cnt) payable per Per window.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]{1,12}(\.[0-9]{1,4})?$`
	MaxUnits string `json:"maxUnits,omitempty"`
	// Per (MaxUnits: Day, Stay or Course; InclusivePair: Day or Stay).
	// +optional
	Per Period `json:"per,omitempty"`
	// ExtraDays (PerDayExceedsStay): units allowed beyond the length of stay.
	// Default 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=365
	ExtraDays *int32 `json:"extraDays,omitempty"`
	// GraceDays (ChargeAfterDischarge): calendar days after the discharge day
	// on which charges are still accepted. Default 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=365
	GraceDays *int32 `json:"graceDays,omitempty"`
	// WithinDays (RepeatExamination, Readmission): the window in calendar days.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3650
	WithinDays *int32 `json:"withinDays,omitempty"`
	// MinDays (BedOnlyDays): bed-only days needed to flag a stay.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3650
	MinDays *int32 `json:"minDays,omitempty"`
	// MinComponents (UnbundledPackage): distinct components that must be
	// billed with the package on the same day. Default 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5000
	MinComponents *int32 `json:"minComponents,omitempty"`
}

// RuleSetSpec is the spec of a RuleSet manifest (and of the RuleSet CRD).
type RuleSetSpec struct {
	// Version of the catalogue, e.g. "2024.1".
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	// What the catalogue covers, for people.
	Description string `json:"description,omitempty"`
	// +kubebuilder:validation:MaxItems=2000
	// The rule instances (规则), each a template with its parameters.
	Rules []Rule `json:"rules"`
}

// EffectiveVisitType returns the rule's visit type with the default applied.
func (r *Rule) EffectiveVisitType() VisitType {
	if r.VisitType == "" {
		return Any
	}
	return r.VisitType
}
