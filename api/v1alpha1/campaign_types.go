package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CampaignSpec is a province's dated plan for one anti-fraud campaign
// (打击欺诈骗保专项治理工作方案): its phases, the cities in scope and the claims
// data under review.
// +kubebuilder:validation:XValidation:rule="self.phases.all(p, !has(p.sampling) || p.sampling.purpose != 'FlyCheck') || (has(self.provinceNamespace) && size(self.provinceNamespace) > 0)",message="spec.provinceNamespace is required when a phase samples for FlyCheck",fieldPath=".provinceNamespace"
// +kubebuilder:validation:XValidation:rule="self.phases.all(p, !has(p.screening) || has(p.screening.source)) || has(self.dataSource)",message="spec.dataSource (or the phase's screening.source) is required when a phase has screening",fieldPath=".dataSource"
// +kubebuilder:validation:XValidation:rule="!has(self.reporting) || !has(self.reporting.summaryPhase) || self.phases.exists(p, p.name == self.reporting.summaryPhase)",message="spec.reporting.summaryPhase must name a phase",fieldPath=".reporting.summaryPhase"
// +kubebuilder:validation:XValidation:rule="(has(self.roster) && size(self.roster) > 0) || self.phases.all(p, !has(p.sampling) || p.sampling.purpose == 'FlyCheck' || self.phases.exists(q, has(q.screening) && q.start.substring(0, 10) <= p.start.substring(0, 10)))",message="a Recheck phase draws from the latest screening phase that starts no later than it, or else from spec.roster: add a screening phase before it or name a roster ConfigMap",fieldPath=".roster"
// +kubebuilder:validation:XValidation:rule="(has(self.roster) && size(self.roster) > 0) || self.phases.all(p, !has(p.sampling) || p.sampling.purpose != 'FlyCheck' || self.phases.exists(q, has(q.screening) && q.start.substring(0, 10) <= p.start.substring(0, 10)))",message="a FlyCheck phase draws from the cities' latest screening before it, or else from spec.roster: add a screening phase before it or name a roster ConfigMap",fieldPath=".roster"
type CampaignSpec struct {
	// Human-readable title, e.g. "2020年全省医疗保障基金监管源头治理".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// IANA time zone in which dates are read; a date starts at local midnight.
	// +optional
	// +kubebuilder:default="Asia/Shanghai"
	// +kubebuilder:validation:MaxLength=64
	TimeZone string `json:"timeZone,omitempty"`

	// Suspend freezes phase transitions and the creation of screening jobs
	// and samples until it is cleared; missed transitions are caught up then.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Claims period under review.
	// +optional
	DataWindow *DataWindow `json:"dataWindow,omitempty"`

	// Namespace of the provincial bureau; province-wide fly-check samples are
	// kept here, out of sight of the city bureaus.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	ProvinceNamespace string `json:"provinceNamespace,omitempty"`

	// Prefecture-level cities (设区市) in scope.
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(c, self.exists_one(d, d.name == c.name))",message="city names must be unique"
	// +kubebuilder:validation:XValidation:rule="self.all(c, self.exists_one(d, d.__namespace__ == c.__namespace__))",message="city namespaces must be unique"
	// +kubebuilder:validation:XValidation:rule="self.all(c, self.exists_one(d, d.code == c.code))",message="city codes must be unique"
	Cities []City `json:"cities"`

	// Default claims extract for phases with screening.
	// +optional
	DataSource *DataSource `json:"dataSource,omitempty"`

	// Name of a roster ConfigMap (key frame.csv, docs/data-format.md) in each
	// city namespace listing its designated institutions: the sampling frame
	// when no phase before the sampling phase screens.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Roster string `json:"roster,omitempty"`

	// The dated phases. They may overlap (Jiangsu 2020: spot-check Jul–Aug,
	// fly-check Jul–Nov).
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.all(p, self.exists_one(q, q.name == p.name))",message="phase names must be unique"
	Phases []Phase `json:"phases"`

	// Dated deliverables counted per city over its cases (§9).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(m, self.exists_one(n, n.name == m.name))",message="milestone names must be unique"
	Milestones []Milestone `json:"milestones,omitempty"`
	// Red and yellow cards for cities that miss milestones.
	// +optional
	Cards *Cards `json:"cards,omitempty"`
	// Weekly and summary report snapshots.
	// +optional
	Reporting *Reporting `json:"reporting,omitempty"`
}

// City is one prefecture-level city and the namespace its bureau works in.
type City struct {
	// Short name used in child object names, e.g. "nanjing".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=30
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// e.g. "南京市".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	DisplayName string `json:"displayName,omitempty"`
	// Namespace of the city bureau; it must exist.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace"`
	// Administrative division code (admdvs) of the city, e.g. "320100"; the
	// screening scope and the sampling frame are filtered by it.
	// +kubebuilder:validation:Pattern=`^[0-9]{6}$`
	// +kubebuilder:validation:MaxLength=6
	Code string `json:"code"`
}

// Phase is one dated stage of the campaign.
// +kubebuilder:validation:XValidation:rule="size(self.start) == 10 && size(self.end) == 10 ? self.start <= self.end : (size(self.start) > 10 && size(self.end) > 10 ? timestamp(self.start) <= timestamp(self.end) : self.start.substring(0, 10) <= self.end.substring(0, 10))",message="phase start must not be after its end",fieldPath=".end"
// +kubebuilder:validation:XValidation:rule="!has(self.screening) || !has(self.sampling)",message="a phase either screens or samples; split it into two phases that may overlap"
// +kubebuilder:validation:XValidation:rule="!has(self.selfInspection) || !has(self.sampling)",message="a phase either opens self-inspection cases or samples; split it into two phases that may overlap"
type Phase struct {
	// Short name, unique in the campaign and used in child object names,
	// e.g. "selfinspection", "spotcheck", "flycheck".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// e.g. "自查自纠".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	DisplayName string `json:"displayName,omitempty"`
	// First day (or instant) of the phase.
	Start Date `json:"start"`
	// Last day of the phase, included; or the instant it ends.
	End Date `json:"end"`
	// Run rule screening over each city's claims when the phase starts.
	// +optional
	Screening *PhaseScreening `json:"screening,omitempty"`
	// Draw the inspection sample when the phase starts.
	// +optional
	Sampling *PhaseSampling `json:"sampling,omitempty"`
	// Open an InspectionCase for each institution in scope when the phase
	// starts (自查自纠): each gets its leads for a guided self-inspection.
	// +optional
	SelfInspection *PhaseSelfInspection `json:"selfInspection,omitempty"`
}

// SelfInspectionScope says which institutions of a city's frame a
// self-inspection phase opens cases for.
// +kubebuilder:validation:Enum=Flagged;All
type SelfInspectionScope string

const (
	// ScopeFlagged: institutions with at least one finding in the city's
	// latest screening before the phase.
	ScopeFlagged SelfInspectionScope = "Flagged"
	// ScopeAll: the whole frame (Jiangsu 2020: 100 % self-inspection).
	ScopeAll SelfInspectionScope = "All"
)

// PhaseSelfInspection opens the self-inspection cases. Their report is due
// at the end of the phase unless reportDue or reportWithinWorkingDays says
// otherwise (Huaibei 2020: reports by 5 June, inside a phase to 30 June).
// +kubebuilder:validation:XValidation:rule="!has(self.reportDue) || !has(self.reportWithinWorkingDays)",message="give reportDue or reportWithinWorkingDays, not both"
type PhaseSelfInspection struct {
	// +optional
	// +kubebuilder:default=Flagged
	Scope SelfInspectionScope `json:"scope,omitempty"`
	// The self-inspection report is due by this day (the whole day counts)
	// or instant.
	// +optional
	ReportDue *Date `json:"reportDue,omitempty"`
	// Or: the report is due this many working days after the phase starts,
	// on the official calendar.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=365
	ReportWithinWorkingDays int32 `json:"reportWithinWorkingDays,omitempty"`
}

// PhaseScreening asks for one ScreeningJob per city when the phase starts.
type PhaseScreening struct {
	// Names of the RuleSets to run.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	RuleSets []string `json:"ruleSets"`
	// Parallel shards per city, partitioned by institution.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=256
	Shards int32 `json:"shards,omitempty"`
	// Claims extract; defaults to spec.dataSource.
	// +optional
	Source *DataSource `json:"source,omitempty"`
	// Where findings are written; defaults to the source volume's claim.
	// +optional
	Output *OutputLocation `json:"output,omitempty"`
	// Resources of each screening pod.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// OutputLocation is a directory on a PersistentVolumeClaim.
type OutputLocation struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// PersistentVolumeClaim the results are written to, in the ScreeningJob's
	// namespace.
	PersistentVolumeClaim string `json:"persistentVolumeClaim"`
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// Directory inside the volume; empty means its root.
	Path string `json:"path,omitempty"`
}

// PhaseSampling asks for an inspection sample when the phase starts: one per
// city for a Recheck, one province-wide for a FlyCheck.
type PhaseSampling struct {
	Purpose        SamplingPurpose `json:"purpose"`
	SamplingPolicy `json:",inline"`
	// Fixed seed, for drills and audits. When empty, the seed is derived from
	// the operator's secret sampling key, so institutions cannot predict it.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Seed string `json:"seed,omitempty"`
}

// PhaseState is where a phase stands.
// +kubebuilder:validation:Enum=Pending;Active;Completed
type PhaseState string

const (
	PhasePending   PhaseState = "Pending"
	PhaseActive    PhaseState = "Active"
	PhaseCompleted PhaseState = "Completed"
)

// PhaseStatus is the state of one phase, recomputed from the spec and the clock.
type PhaseStatus struct {
	// The phase (spec.phases[].name).
	Name  string     `json:"name"`
	State PhaseState `json:"state"`
	// The scheduled start, once reached.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// The scheduled end, once reached.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
	// When the phase's screening jobs or samples were created. They are
	// created once: deleting one later does not bring it back.
	// +optional
	LaunchedAt *metav1.Time `json:"launchedAt,omitempty"`
}

// CityStatus counts a city's progress. Counts only: which institutions were
// drawn is in the InspectionSample, readable by those allowed to read it.
type CityStatus struct {
	// The city (spec.cities[].name).
	Name string `json:"name"`
	// Designated institutions in the city's screening frame.
	// +optional
	Institutions int32 `json:"institutions,omitempty"`
	// +optional
	// Fee lines screened by the city's latest screening.
	ScreenedLines int64 `json:"screenedLines,omitempty"`
	// Institutions with at least one finding.
	// +optional
	FlaggedInstitutions int32 `json:"flaggedInstitutions,omitempty"`
	// Institutions drawn for the city's recheck.
	// +optional
	Sampled int32 `json:"sampled,omitempty"`
	// +optional
	// Tertiary (level 3, 三级) institutions among those drawn.
	TertiarySampled int32 `json:"tertiarySampled,omitempty"`
	// Rules of the city's latest screening that did not run because a
	// table they need is missing from its extract (see the ScreeningJob's
	// rulesSkipped).
	// +optional
	RulesSkipped int32 `json:"rulesSkipped,omitempty"`

	// The city's InspectionCases in this campaign (counts and sums only).
	// A province fly-check case counts for its city once handed off.
	// +optional
	Cases int32 `json:"cases,omitempty"`
	// Cases whose self-inspection report is in.
	// +optional
	SelfReported int32 `json:"selfReported,omitempty"`
	// Cases inspected on site.
	// +optional
	Inspected int32 `json:"inspected,omitempty"`
	// Inspected cases with at least one violation found.
	// +optional
	WithFindings int32 `json:"withFindings,omitempty"`
	// Inspected cases with nothing found (空白户).
	// +optional
	Blank int32 `json:"blank,omitempty"`
	// withFindings / inspected, percent rounded down (发现问题率; Xicheng's
	// target is above 95); absent until something was inspected.
	// +optional
	ProblemDiscoveryPercent *int32 `json:"problemDiscoveryPercent,omitempty"`
	// Yuan found on site, ordered (refunds and fines) and recovered.
	// +optional
	Found Money `json:"found,omitempty"`
	// +optional
	Ordered Money `json:"ordered,omitempty"`
	// +optional
	Recovered Money `json:"recovered,omitempty"`
	// Cases with a deadline passed and not met.
	// +optional
	Overdue int32 `json:"overdue,omitempty"`

	// Tip-offs (举报) naming this campaign, received in the city's
	// namespace: counts only, never their content.
	// +optional
	TipOffs int32 `json:"tipOffs,omitempty"`
	// Of those, the ones whose reward was paid (举报奖励兑现).
	// +optional
	TipOffRewardsPaid int32 `json:"tipOffRewardsPaid,omitempty"`
	// Each milestone in this city, in spec order.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Milestones []CityMilestone `json:"milestones,omitempty"`
	// The city's card, when spec.cards is set, and the missed milestones
	// behind it.
	// +optional
	Card Card `json:"card,omitempty"`
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// The missed milestones behind the card.
	CardMilestones []string `json:"cardMilestones,omitempty"`
}

// CampaignStatus is what the operator observed.
type CampaignStatus struct {
	// The generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=20
	// Each phase's state, in spec order.
	Phases []PhaseStatus `json:"phases,omitempty"`
	// The active phase that started last.
	// +optional
	CurrentPhase string `json:"currentPhase,omitempty"`
	// When the next phase starts or ends; empty when suspended or finished.
	// +optional
	NextTransitionAt *metav1.Time `json:"nextTransitionAt,omitempty"`
	// nextTransitionAt as local time in the campaign's zone, for reading
	// ("2026-12-03 01:52:26 +08:00"): kubectl prints a date column as an
	// age, and a future time has none.
	// +optional
	NextTransition string `json:"nextTransition,omitempty"`
	// When the next milestone falls due; empty when none is left.
	// +optional
	NextMilestoneAt *metav1.Time `json:"nextMilestoneAt,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// Each city's progress, in spec order (counts only).
	Cities []CityStatus `json:"cities,omitempty"`
	// The self-inspection and recheck case openings done, "<phase>/<city>".
	// Each is done once: a case deleted afterwards is not brought back. (The
	// fly-check's opening is recorded on its sample, in the province
	// namespace, because every city can read the Campaign.)
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1280
	// +kubebuilder:validation:items:MaxLength=128
	CasesOpened []string `json:"casesOpened,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	// Ready, Reconciling and Stalled (kstatus), each with the generation it
	// describes.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Campaign is a province's anti-fraud campaign (打击欺诈骗保专项治理): phases
// advance on schedule and launch screening and sampling in the cities.
//
// A phase that has started can be neither renamed nor moved in time: its
// name and start are read from the previous object's status (CEL has no
// clock, but it can see what the controller recorded). The name is at most
// 63 characters (a label value on every child; hack/crdnames puts the limit
// in the schema).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=camp,categories=flycheck
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.currentPhase`
// +kubebuilder:printcolumn:name="Next transition",type=string,JSONPath=`.status.nextTransition`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name != 'tipoffs'",message="the name tipoffs is reserved: the standing cases of tip-offs outside campaigns are named tipoffs-<institution>",fieldPath=".metadata.name"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phases) || oldSelf.status.phases.all(s, s.state == 'Pending' || self.spec.phases.exists(p, p.name == s.name && oldSelf.spec.phases.exists(o, o.name == s.name && o.start == p.start)))",message="a phase that has started cannot be renamed, removed or have its start moved",fieldPath=".spec.phases",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phases) || oldSelf.status.phases.all(s, s.state == 'Pending') || self.spec.timeZone == oldSelf.spec.timeZone",message="spec.timeZone cannot change once a phase has started: it would move every boundary already passed",fieldPath=".spec.timeZone",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phases) || !oldSelf.status.phases.exists(s, has(s.launchedAt)) || oldSelf.spec.cities.all(o, self.spec.cities.exists(c, c.name == o.name && c.code == o.code && c.__namespace__ == o.__namespace__))",message="a city's name, code and namespace cannot change, and a city cannot be removed, once the campaign has created screening jobs or samples for it (cities may be added)",fieldPath=".spec.cities",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="size(self.spec.cities) == 0 || size(self.metadata.name) + self.spec.phases.map(p, size(p.name)).max() + self.spec.cities.map(c, size(c.name)).max() + 2 <= 63",messageExpression="'the ScreeningJobs and InspectionSamples of this campaign are named <campaign>-<phase>-<city>, which is also a label value, so it must fit in 63 characters: campaign ' + (size(self.metadata.name) >= 10 ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][size(self.metadata.name) / 10] + ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][size(self.metadata.name) % 10] : ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][size(self.metadata.name)]) + ' + longest phase ' + (self.spec.phases.map(p, size(p.name)).max() >= 10 ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][self.spec.phases.map(p, size(p.name)).max() / 10] + ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][self.spec.phases.map(p, size(p.name)).max() % 10] : ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][self.spec.phases.map(p, size(p.name)).max()]) + ' + longest city ' + (self.spec.cities.map(c, size(c.name)).max() >= 10 ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][self.spec.cities.map(c, size(c.name)).max() / 10] + ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][self.spec.cities.map(c, size(c.name)).max() % 10] : ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][self.spec.cities.map(c, size(c.name)).max()]) + ' + 2 separators = ' + ((size(self.metadata.name) + self.spec.phases.map(p, size(p.name)).max() + self.spec.cities.map(c, size(c.name)).max() + 2) >= 100 ? '1' + ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][(size(self.metadata.name) + self.spec.phases.map(p, size(p.name)).max() + self.spec.cities.map(c, size(c.name)).max() + 2) / 10 % 10] : ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][(size(self.metadata.name) + self.spec.phases.map(p, size(p.name)).max() + self.spec.cities.map(c, size(c.name)).max() + 2) / 10]) + ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'][(size(self.metadata.name) + self.spec.phases.map(p, size(p.name)).max() + self.spec.cities.map(c, size(c.name)).max() + 2) % 10]"
type Campaign struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CampaignSpec   `json:"spec"`
	Status CampaignStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CampaignList contains a list of Campaign.
type CampaignList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Campaign `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Campaign{}, &CampaignList{})
}
