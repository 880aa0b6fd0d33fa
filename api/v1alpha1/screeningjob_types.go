package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CampaignReference names the (cluster-scoped) Campaign an object belongs to.
type CampaignReference struct {
	// Name of the Campaign (cluster-scoped).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ScreeningJobSpec says which claims to screen with which rules. It cannot
// change once created: the audit trail must say exactly what ran.
type ScreeningJobSpec struct {
	// +optional
	CampaignRef *CampaignReference `json:"campaignRef,omitempty"`
	// Only institutions of this city (admdvs code) are screened.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]{6}$`
	// +kubebuilder:validation:MaxLength=6
	CityCode string `json:"cityCode,omitempty"`
	// Only visits that began in this period are screened.
	// +optional
	DataWindow *DataWindow `json:"dataWindow,omitempty"`
	// The claims extract (mounted read-only).
	Source DataSource `json:"source"`
	// Where the findings files are written.
	Output OutputLocation `json:"output"`
	// Names of the RuleSets to run; snapshotted when the job starts.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	RuleSets []string `json:"ruleSets"`
	// Parallel shards, partitioned by institution.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=256
	Shards int32 `json:"shards,omitempty"`
	// Screener image; defaults to the operator's --screener-image.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`
	// Resources of each shard's pod.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// Wall-clock limit of the whole Job.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
	// Retries of each shard before it counts as failed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	BackoffLimitPerIndex *int32 `json:"backoffLimitPerIndex,omitempty"`
}

// ScreeningState is where a ScreeningJob stands.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type ScreeningState string

const (
	ScreeningPending   ScreeningState = "Pending"
	ScreeningRunning   ScreeningState = "Running"
	ScreeningSucceeded ScreeningState = "Succeeded"
	ScreeningFailed    ScreeningState = "Failed"
)

// ShardCounts counts the Job's shards.
type ShardCounts struct {
	// +optional
	// Shards of the Job (spec.shards).
	Total int32 `json:"total,omitempty"`
	// Shards whose result has been read.
	// +optional
	Succeeded int32 `json:"succeeded,omitempty"`
	// +optional
	// Shards that failed after their retries.
	Failed int32 `json:"failed,omitempty"`
	// Indexes whose result has been read, e.g. "0,2-3".
	// +optional
	CompletedIndexes string `json:"completedIndexes,omitempty"`
}

// FindingCounts summarises findings (疑点).
type FindingCounts struct {
	// +optional
	// Findings (疑点) of every rule.
	Total int64 `json:"total,omitempty"`
	// Findings per rule category.
	// +optional
	ByCategory map[string]int64 `json:"byCategory,omitempty"`
	// Money at risk, yuan, decimal string.
	// +optional
	SuspectAmount string `json:"suspectAmount,omitempty"`
}

// InstitutionCounts counts the institutions in scope.
type InstitutionCounts struct {
	// +optional
	// Designated institutions of the city with claims in the extract.
	Total int32 `json:"total,omitempty"`
	// With at least one finding.
	// +optional
	Flagged int32 `json:"flagged,omitempty"`
}

// RefusedResults counts the refused shard result ConfigMaps.
type RefusedResults struct {
	// How many ConfigMaps labelled as this ScreeningJob's shard results
	// were refused.
	Count int32 `json:"count"`
	// The first few of them (by name), with the reason.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Recent []RefusedResult `json:"recent,omitempty"`
}

// RefusedResult is one refused shard result ConfigMap.
type RefusedResult struct {
	// The ConfigMap's name.
	Name string `json:"name"`
	// Why it was refused.
	Reason string `json:"reason"`
}

// ShardFailure records why a shard failed.
type ShardFailure struct {
	// The shard's completion index.
	Index int32 `json:"index"`
	// Why it failed, from the Job's pod (e.g. OOMKilled, DeadlineExceeded).
	Reason string `json:"reason"`
}

// ScreeningJobStatus is what the screening produced so far.
type ScreeningJobStatus struct {
	// +optional
	// The generation this status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	State ScreeningState `json:"state,omitempty"`
	// +optional
	// When the operator created the Job.
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	// When the last shard's result was read, or the screening failed.
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// The batch/v1 Job running the shards.
	// +optional
	JobName string `json:"jobName,omitempty"`
	// +optional
	Shards ShardCounts `json:"shards,omitempty"`
	// +optional
	// Fee lines read by the shards whose results were accepted.
	LinesScanned int64 `json:"linesScanned,omitempty"`
	// Malformed lines, quarantined.
	// +optional
	LinesRejected int64 `json:"linesRejected,omitempty"`
	// +optional
	Findings FindingCounts `json:"findings,omitempty"`
	// +optional
	Institutions InstitutionCounts `json:"institutions,omitempty"`
	// sha256 of the rules snapshot the shards ran.
	// +optional
	RulesDigest string `json:"rulesDigest,omitempty"`
	// The immutable ConfigMap holding that snapshot.
	// +optional
	RulesConfigMap string `json:"rulesConfigMap,omitempty"`
	// The sampling frame: every institution in scope with its risk (key
	// frame.csv, gzip-compressed in binaryData), written by the operator
	// when all shards succeeded. Its name ends in the first characters of
	// frameDigest.
	// +optional
	FrameConfigMap string `json:"frameConfigMap,omitempty"`
	// sha256 of the canonical frame (docs/sampling.md §1). Only the operator
	// writes this status, so an InspectionSample drawing from the frame
	// checks the ConfigMap's content against it before it draws.
	// +optional
	FrameDigest string `json:"frameDigest,omitempty"`
	// Shard result ConfigMaps that were refused (bad or missing signature,
	// wrong index, unreadable): never used, never blocking the genuine
	// result. See docs/screening.md, "Trust model".
	// +optional
	RefusedResults *RefusedResults `json:"refusedResults,omitempty"`
	// Rules that did not run because an optional table they need
	// (diagnoses, persons) is missing from the extract; the RulesSkipped
	// condition says so too.
	// +optional
	// +listType=atomic
	RulesSkipped []string `json:"rulesSkipped,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=index
	// Shards that failed, with the reason.
	FailedShards []ShardFailure `json:"failedShards,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	// Ready, Reconciling and Stalled (kstatus), and RulesSkipped.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ScreeningJob screens one city's claims with a set of rules, as a batch/v1
// Indexed Job of `flycheck screen` shards, and produces the sampling frame.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sj,categories=flycheck
// The name is at most 63 characters, being a label value on the Job, pods
// and ConfigMaps (hack/crdnames puts the limit in the schema).
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Done",type=integer,JSONPath=`.status.shards.succeeded`
// +kubebuilder:printcolumn:name="Shards",type=integer,JSONPath=`.status.shards.total`
// +kubebuilder:printcolumn:name="Lines",type=integer,JSONPath=`.status.linesScanned`
// +kubebuilder:printcolumn:name="Findings",type=integer,JSONPath=`.status.findings.total`
// +kubebuilder:printcolumn:name="Flagged",type=integer,JSONPath=`.status.institutions.flagged`
// +kubebuilder:printcolumn:name="Suspect",type=string,JSONPath=`.status.findings.suspectAmount`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScreeningJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: the audit trail must say exactly what ran; create a new ScreeningJob instead"
	Spec   ScreeningJobSpec   `json:"spec"`
	Status ScreeningJobStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ScreeningJobList contains a list of ScreeningJob.
type ScreeningJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScreeningJob `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ScreeningJob{}, &ScreeningJobList{})
}
