package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// MilestoneRequirement is what a case must have reached to count toward a
// milestone (internal/milestones).
// +kubebuilder:validation:Enum=SelfInspectionReported;Pledged;Refunded;Inspected;Decided;Rectified;FollowedUp
type MilestoneRequirement string

// Milestone is one of the plan's dated deliverables (工作节点), counted per
// city over its cases: Huaibei 2020's self-inspection reports by 5 June,
// Jiangsu 2020's refunds and written pledges by 15 July.
type Milestone struct {
	// Short name, unique in the campaign, e.g. "selfreports".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// e.g. "自查报告报送".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	DisplayName string `json:"displayName,omitempty"`
	// Due by this day (the whole day counts) or instant.
	Due Date `json:"due"`
	// What each case must have reached.
	Requirement MilestoneRequirement `json:"requirement"`
	// Only cases brought in by one of these origins count; empty: all.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	Origins []OriginType `json:"origins,omitempty"`
	// Percent of the city's cases that must be done by the due instant.
	// +optional
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MinPercent *int32 `json:"minPercent,omitempty"`
}

// Cards is Luohe's 红黄牌 for lagging regions: a yellow card (约谈, an
// interview) after this many missed milestones, a red one (通报批评,
// public criticism) after that many. 0 disables a card.
// +kubebuilder:validation:XValidation:rule="self.yellowAfterMissed == 0 || self.redAfterMissed == 0 || self.yellowAfterMissed <= self.redAfterMissed",message="yellowAfterMissed must not exceed redAfterMissed"
type Cards struct {
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	// Missed milestones that earn a city a yellow card (约谈); 0: none.
	YellowAfterMissed int32 `json:"yellowAfterMissed"`
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	// Missed milestones that earn a city a red card (通报批评); 0: none.
	RedAfterMissed int32 `json:"redAfterMissed"`
}

// Weekday names a day of the week.
// +kubebuilder:validation:Enum=Monday;Tuesday;Wednesday;Thursday;Friday;Saturday;Sunday
type Weekday string

// WeeklyReport is the weekly snapshot's instant (周报), in the campaign's
// zone.
type WeeklyReport struct {
	Day Weekday `json:"day"`
	// Local time of day, "09:00".
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	// +kubebuilder:validation:MaxLength=5
	Time string `json:"time"`
}

// Reporting asks for report snapshots: ConfigMaps holding report.json and a
// self-contained report.html, in the province namespace and each city's.
// +kubebuilder:validation:XValidation:rule="!(has(self.weekly) && has(self.every))",message="give reporting.weekly or reporting.every, not both"
// +kubebuilder:validation:XValidation:rule="!has(self.every) || duration(self.every) >= duration('5s')",message="reporting.every must be at least 5s"
type Reporting struct {
	// A snapshot every week at this day and time.
	// +optional
	Weekly *WeeklyReport `json:"weekly,omitempty"`
	// Or a snapshot at this interval from the first phase's start, for
	// compressed demo schedules ("10m").
	// +optional
	Every *metav1.Duration `json:"every,omitempty"`
	// How many snapshots of each scope to keep; default: all, for the
	// campaign's length.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=520
	Keep int32 `json:"keep,omitempty"`
	// The phase whose end writes the summary report (总结), e.g. "summary".
	// +optional
	// +kubebuilder:validation:MaxLength=40
	SummaryPhase string `json:"summaryPhase,omitempty"`
}

// MilestoneState is a milestone in one city: Pending until its due instant,
// then Met or Missed.
// +kubebuilder:validation:Enum=Pending;Met;Missed
type MilestoneState string

const (
	MilestonePending MilestoneState = "Pending"
	MilestoneMet     MilestoneState = "Met"
	MilestoneMissed  MilestoneState = "Missed"
)

// Card is a city's card.
// +kubebuilder:validation:Enum=Green;Yellow;Red
type Card string

const (
	CardGreen  Card = "Green"
	CardYellow Card = "Yellow"
	CardRed    Card = "Red"
)

// CityMilestone is one milestone in one city.
type CityMilestone struct {
	// The milestone (spec.milestones[].name).
	Name string `json:"name"`
	// Cases done (by now while pending, by the due instant after) of the
	// cases in scope.
	Done int32 `json:"done"`
	// The cases in scope.
	Total int32          `json:"total"`
	State MilestoneState `json:"state"`
}
