package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FrameSource is where a draw's frame comes from: the frame of a
// ScreeningJob, or a roster ConfigMap (key frame.csv) when sampling without
// screening. Both live in the InspectionSample's namespace.
// +kubebuilder:validation:XValidation:rule="has(self.screeningJob) != has(self.configMap)",message="set exactly one of screeningJob and configMap"
type FrameSource struct {
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// A ScreeningJob whose frame (status.frameConfigMap) to draw from.
	ScreeningJob string `json:"screeningJob,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// A frame ConfigMap (key frame.csv) to draw from, e.g. a roster import.
	ConfigMap string `json:"configMap,omitempty"`
}

// InspectionSampleSpec is the policy of one draw. Immutable: a draw is made
// once, and re-applying the same manifest must give the same selection.
type InspectionSampleSpec struct {
	// +optional
	CampaignRef *CampaignReference `json:"campaignRef,omitempty"`
	Purpose     SamplingPurpose    `json:"purpose"`
	// The quota. Omitted, it is the Campaign default (minPercent 10,
	// minTertiaryPerCity 2).
	// +optional
	// +kubebuilder:default={}
	Policy SamplingPolicy `json:"policy,omitempty"`
	// The frames drawn from; several (a fly-check over all cities) are merged.
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Frames []FrameSource `json:"frames"`
	// Fixed seed. When empty the seed is derived from the operator's secret
	// sampling key, the campaign, the purpose and the scope.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Seed string `json:"seed,omitempty"`
	// What the draw covers, for deriving the seed. A Campaign sets
	// "<phase>/<city code>" for a recheck and "<phase>/province" for a
	// fly-check, so that a later phase with the same purpose draws anew
	// while a re-created sample draws the same. Defaults to the namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Scope string `json:"scope,omitempty"`
}

// SelectionReason says why an institution was drawn (DESIGN §4).
// +kubebuilder:validation:Enum=TertiaryQuota;Risk;Random;MinimumTopUp
type SelectionReason string

// SelectedInstitution is one drawn institution.
type SelectedInstitution struct {
	// National institution code (fixmedins_code).
	Code string `json:"code"`
	// The institution's name, as the frame gives it.
	Name string `json:"name,omitempty"`
	// Administrative division code of its city.
	CityCode string `json:"cityCode"`
	// Hospital level 1..3 (3 = tertiary, 三级); 0 when not graded.
	Level int32 `json:"level"`
	// Public or private, as the frame gives it.
	Ownership string          `json:"ownership,omitempty"`
	Reason    SelectionReason `json:"reason"`
	// Screening risk, decimal with 6 places.
	RiskScore string `json:"riskScore"`
}

// FrameSummary identifies the frame a draw was made from.
type FrameSummary struct {
	// Institutions in the frame.
	Size int32 `json:"size"`
	// Tertiary (level 3) institutions in the frame.
	Tertiary int32 `json:"tertiary"`
	// sha256 of the canonical frame (DESIGN §4.1).
	Digest string `json:"digest"`
	// The ConfigMaps (in this namespace, key frame.csv) the frame was read
	// from, in spec.frames order: a ScreeningJob's frame ConfigMap or the
	// roster itself. `flycheck sample verify --from-cluster` re-reads them.
	// +optional
	// +listType=atomic
	ConfigMaps []string `json:"configMaps,omitempty"`
	// What each ConfigMap held when the draw was made, in the same order:
	// a ScreeningJob's frame was checked against the digest in the
	// ScreeningJob's status before the draw; a roster's digest is recorded.
	// +optional
	// +listType=atomic
	Sources []FrameSourceDigest `json:"sources,omitempty"`
	// The immutable ConfigMap owned by this sample (key frame.csv,
	// gzip-compressed) holding the merged frame the draw was made from, so
	// that `flycheck sample verify --from-cluster` works for ever, whatever
	// happens to the frames afterwards.
	// +optional
	Snapshot string `json:"snapshot,omitempty"`
}

// FrameSourceDigest is the content of one frame ConfigMap at the draw.
type FrameSourceDigest struct {
	// The ConfigMap read.
	ConfigMap string `json:"configMap"`
	// The ScreeningJob whose frame it is; empty for a roster.
	// +optional
	ScreeningJob string `json:"screeningJob,omitempty"`
	// sha256 of its canonical rows (docs/sampling.md §1).
	Digest string `json:"digest"`
	// Institutions in it.
	Size int32 `json:"size"`
}

// CitySampleCount is the draw's result for one city.
type CitySampleCount struct {
	// Administrative division code of the city.
	CityCode string `json:"cityCode"`
	// The city's institutions in the frame (N).
	Institutions int32 `json:"institutions"`
	// Tertiary (level 3) institutions of the city in the frame (T).
	TertiaryInFrame int32 `json:"tertiaryInFrame"`
	// The city's quota n (DESIGN §4 step 4).
	Quota int32 `json:"quota"`
	// Institutions of the city drawn.
	Selected int32 `json:"selected"`
	// Tertiary institutions of the city drawn.
	Tertiary int32 `json:"tertiary"`
}

// SampleCounts totals the selection.
type SampleCounts struct {
	// Institutions drawn.
	Selected int32 `json:"selected"`
	// Tertiary (level 3) institutions drawn.
	Tertiary int32 `json:"tertiary"`
	// Picks per reason (TertiaryQuota, Risk, Random, MinimumTopUp).
	// +optional
	ByReason map[string]int32 `json:"byReason,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=cityCode
	// The draw per city.
	ByCity []CitySampleCount `json:"byCity,omitempty"`
}

// Shortfall is a quota the frame could not meet; reported, never hidden.
type Shortfall struct {
	// TertiaryBelowMinimum, CityBelowQuota or FrameBelowMinTotal.
	Kind string `json:"kind"`
	// +optional
	// The city, when the quota is a city's.
	CityCode string `json:"cityCode,omitempty"`
	// Institutions the policy asked for.
	Wanted int32 `json:"wanted"`
	// Institutions the frame had.
	Available int32 `json:"available"`
	// The shortfall in words.
	Message string `json:"message"`
}

// ConditionFrameChanged is True when the frame a drawn sample names no longer
// has the digest the draw was made from. The selection is kept: a sample is
// never redrawn. Unknown when the frame cannot be read any more.
const ConditionFrameChanged = "FrameChanged"

// InspectionSampleStatus is the draw, recorded once.
type InspectionSampleStatus struct {
	// +optional
	// The generation this status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// When the draw was made; it is made once.
	DrawnAt *metav1.Time `json:"drawnAt,omitempty"`
	// e.g. flycheck-sample/v1.
	// +optional
	Algorithm string `json:"algorithm,omitempty"`
	// The seed used; with the frame and policy anyone can re-derive the draw.
	// +optional
	Seed string `json:"seed,omitempty"`
	// +optional
	Frame *FrameSummary `json:"frame,omitempty"`
	// +optional
	// +listType=atomic
	// The institutions drawn, in draw order.
	Selected []SelectedInstitution `json:"selected,omitempty"`
	// +optional
	Counts *SampleCounts `json:"counts,omitempty"`
	// +optional
	// +listType=atomic
	// Quotas the frame could not meet.
	Shortfalls []Shortfall `json:"shortfalls,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	// Ready, Reconciling and Stalled (kstatus), and FrameChanged.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// InspectionSample is an auditable draw of institutions to inspect: a city's
// recheck (抽查复查) or the province's fly-check (飞行检查).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=isample,categories=flycheck
// +kubebuilder:printcolumn:name="Purpose",type=string,JSONPath=`.spec.purpose`
// +kubebuilder:printcolumn:name="Selected",type=integer,JSONPath=`.status.counts.selected`
// +kubebuilder:printcolumn:name="Tertiary",type=integer,JSONPath=`.status.counts.tertiary`
// +kubebuilder:printcolumn:name="Drawn at",type=date,JSONPath=`.status.drawnAt`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
type InspectionSample struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: a draw is made once; create a new InspectionSample instead"
	Spec   InspectionSampleSpec   `json:"spec"`
	Status InspectionSampleStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// InspectionSampleList contains a list of InspectionSample.
type InspectionSampleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InspectionSample `json:"items"`
}

func init() {
	SchemeBuilder.Register(&InspectionSample{}, &InspectionSampleList{})
}
