package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Money is an amount in yuan: a decimal string, at least 0, with at most 2
// decimals (fen) and 12 integer digits, e.g. "1234.50". Never a float.
// +kubebuilder:validation:MaxLength=15
// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{1,12}([.][0-9]{1,2})?$')",message="an amount is a decimal string in yuan, at least 0, with at most 2 decimals and 12 integer digits, e.g. \"1234.50\""
type Money string

// CaseInstitution is the designated institution (定点医药机构) a case is about.
type CaseInstitution struct {
	// National institution code (fixmedins_code).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]+$`
	Code string `json:"code"`
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// The institution's name.
	Name string `json:"name,omitempty"`
	// Administrative division code of its city, e.g. "320100".
	// +kubebuilder:validation:Pattern=`^[0-9]{6}$`
	// +kubebuilder:validation:MaxLength=6
	CityCode string `json:"cityCode"`
	// Hospital level 1..3 (3 = tertiary, 三级); 0 when not graded.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3
	Level int32 `json:"level,omitempty"`
}

// SelfInspection is the institution's return of its guided self-inspection
// (指导性自查): each lead confirmed with its amount, or disputed with
// evidence. `flycheck cases import` applies it from the returned workbooks
// (field manager flycheck-import).
type SelfInspection struct {
	// When the self-inspection report reached the bureau.
	ReportedAt Date `json:"reportedAt"`
	// Leads the institution confirmed (认为问题属实).
	// +optional
	// +kubebuilder:validation:Minimum=0
	LeadsConfirmed int32 `json:"leadsConfirmed,omitempty"`
	// Leads it disputed with evidence (认为问题不属实).
	// +optional
	// +kubebuilder:validation:Minimum=0
	LeadsDisputed int32 `json:"leadsDisputed,omitempty"`
	// The amount it confirmed, yuan.
	// +optional
	ConfirmedAmount Money `json:"confirmedAmount,omitempty"`
	// A written pledge not to repeat the violations (承诺书) was signed.
	// +optional
	PledgeSigned bool `json:"pledgeSigned,omitempty"`
}

// ViolationCategory is the rule type of a violation: the six screening
// types, inpatient behaviour, or Other (e.g. 违规执业).
// +kubebuilder:validation:Enum=ExcessQuantity;BeyondIndication;BeyondPaymentScope;OverExamination;FictitiousCharge;DuplicateCharge;InpatientBehaviour;Other
type ViolationCategory string

// Violation is one problem the inspectors confirmed on site.
type Violation struct {
	Category ViolationCategory `json:"category"`
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// What was found, in the inspectors' words.
	Description string `json:"description,omitempty"`
	// Money involved, yuan.
	Amount Money `json:"amount"`
	// The screening leads it confirms.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=500
	// +kubebuilder:validation:items:MaxLength=128
	LeadIDs []string `json:"leadIds,omitempty"`
	// The institution had reported it in its self-inspection. A violation
	// found on site that was not is handled strictly (自查不报，从严处理).
	// +optional
	SelfReported bool `json:"selfReported,omitempty"`
}

// OnSite is the on-site verification (现场核实) and its working paper.
// +kubebuilder:validation:XValidation:rule="!has(self.to) || (size(self.from) == 10 && size(self.to) == 10 ? self.from <= self.to : (size(self.from) > 10 && size(self.to) > 10 ? timestamp(self.from) <= timestamp(self.to) : self.from.substring(0, 10) <= self.to.substring(0, 10)))",message="onSite.from must not be after onSite.to",fieldPath=".to"
type OnSite struct {
	// At least two inspectors on every on-site check (两人以上参与现场检查).
	// +listType=set
	// +kubebuilder:validation:MinItems=2
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=64
	Inspectors []string `json:"inspectors"`
	// First day on site.
	From Date `json:"from"`
	// Last day on site; the inspection counts as done once it is set.
	// +optional
	To Date `json:"to,omitempty"`
	// Reference of the signed working paper (现场检查工作底稿), e.g. a
	// document number or an archive path.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	WorkingPaper string `json:"workingPaper,omitempty"`
	// When the institution signed the findings (签章确认).
	// +optional
	AcknowledgedAt Date `json:"acknowledgedAt,omitempty"`
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=200
	// The violations confirmed on site; none means nothing was found (空白户).
	Violations []Violation `json:"violations,omitempty"`
}

// ActionType is a measure of the bureau's decision (定性处理).
// +kubebuilder:validation:Enum=Refund;Fine;SuspendAgreement;TerminateAgreement;Transfer
type ActionType string

const (
	ActionRefund             ActionType = "Refund"
	ActionFine               ActionType = "Fine"
	ActionSuspendAgreement   ActionType = "SuspendAgreement"
	ActionTerminateAgreement ActionType = "TerminateAgreement"
	ActionTransfer           ActionType = "Transfer"
)

// TransferTarget is who a case is transferred to (移送).
// +kubebuilder:validation:Enum=Police;HealthCommission;Discipline;MarketRegulation
type TransferTarget string

// DecisionAction is one measure.
// +kubebuilder:validation:XValidation:rule="self.type != 'Refund' || has(self.amount)",message="a Refund needs its amount"
// +kubebuilder:validation:XValidation:rule="self.type != 'Fine' || has(self.amount) || has(self.multiple)",message="a Fine needs an amount or a multiple of the amount found"
// +kubebuilder:validation:XValidation:rule="self.type != 'SuspendAgreement' || has(self.months)",message="a SuspendAgreement needs months"
// +kubebuilder:validation:XValidation:rule="(self.type == 'Transfer') == has(self.to)",message="a Transfer, and only a Transfer, names whom it goes to"
type DecisionAction struct {
	Type ActionType `json:"type"`
	// Yuan: the refund ordered, or the fine.
	// +optional
	Amount Money `json:"amount,omitempty"`
	// A fine as a multiple of the amount found on site (罚款 N 倍), when no
	// amount is given.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	Multiple int32 `json:"multiple,omitempty"`
	// Length of an agreement suspension.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=60
	Months int32 `json:"months,omitempty"`
	// +optional
	To TransferTarget `json:"to,omitempty"`
}

// CaseDecision is the bureau's ruling.
// +kubebuilder:validation:XValidation:rule="!has(self.rectificationDue) || !has(self.rectificationWorkingDays)",message="give rectificationDue or rectificationWorkingDays, not both"
// +kubebuilder:validation:XValidation:rule="!has(self.rectificationDue) || self.decidedAt.substring(0, 10) <= self.rectificationDue.substring(0, 10)",message="rectification cannot be due before the decision",fieldPath=".rectificationDue"
type CaseDecision struct {
	DecidedAt Date `json:"decidedAt"`
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	// What the bureau ordered: refunds, fines, suspensions, transfers.
	Actions []DecisionAction `json:"actions,omitempty"`
	// Rectification (整改) is due by this day (the whole day counts).
	// +optional
	RectificationDue Date `json:"rectificationDue,omitempty"`
	// Or: rectification is due this many working days after the decision,
	// counted on the official calendar (holidays and make-up days).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=365
	RectificationWorkingDays int32 `json:"rectificationWorkingDays,omitempty"`
}

// Recovery is money returned to the fund (追回基金).
type Recovery struct {
	Amount Money `json:"amount"`
	At     Date  `json:"at"`
	// Receipt or transfer reference.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Ref string `json:"ref,omitempty"`
}

// FollowUpResult is what a follow-up check (回头看) found.
// +kubebuilder:validation:Enum=Rectified;Recurred
type FollowUpResult string

const (
	FollowUpRectified FollowUpResult = "Rectified"
	FollowUpRecurred  FollowUpResult = "Recurred"
)

// FollowUp is the later re-check of a serious case.
type FollowUp struct {
	At     Date           `json:"at"`
	Result FollowUpResult `json:"result"`
}

// InspectionCaseSpec is what people record about one institution in one
// campaign; the operator creates it with the institution and campaign only
// and never writes it again. Each part has its owner (bureau staff with
// kubectl or GitOps, `flycheck cases import`), kept apart by server-side
// apply field managers.
// +kubebuilder:validation:XValidation:rule="has(self.campaignRef) == has(oldSelf.campaignRef) && (!has(self.campaignRef) || self.campaignRef.name == oldSelf.campaignRef.name)",message="a case's campaign cannot change",fieldPath=".campaignRef"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.handOff) || !oldSelf.handOff || (has(self.handOff) && self.handOff)",message="a hand-off cannot be withdrawn",fieldPath=".handOff"
// +kubebuilder:validation:XValidation:rule="!has(self.decision) || !has(self.onSite) || (has(self.onSite.to) ? self.onSite.to : self.onSite.from).substring(0, 10) <= self.decision.decidedAt.substring(0, 10)",message="the decision cannot come before the on-site inspection",fieldPath=".decision.decidedAt"
type InspectionCaseSpec struct {
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a case's institution cannot change"
	Institution CaseInstitution `json:"institution"`
	// +optional
	CampaignRef *CampaignReference `json:"campaignRef,omitempty"`
	// +optional
	SelfInspection *SelfInspection `json:"selfInspection,omitempty"`
	// +optional
	OnSite *OnSite `json:"onSite,omitempty"`
	// +optional
	Decision *CaseDecision `json:"decision,omitempty"`
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=500
	// Money returned to the fund (追回基金), one entry per payment.
	Recoveries []Recovery `json:"recoveries,omitempty"`
	// When rectification was confirmed complete.
	// +optional
	RectifiedAt Date `json:"rectifiedAt,omitempty"`
	// +optional
	FollowUp *FollowUp `json:"followUp,omitempty"`
	// The province hands this fly-check case to the institution's city
	// (属地落实): the operator opens the case in the city's namespace with
	// this decision, and the city carries it out. Cannot be withdrawn.
	// +optional
	HandOff bool `json:"handOff,omitempty"`
}

// OriginType is what brought a case.
// +kubebuilder:validation:Enum=Screening;Recheck;FlyCheck;TipOff
type OriginType string

const (
	// OriginScreening: in scope of a self-inspection phase (flagged by the
	// screening, or the whole frame).
	OriginScreening OriginType = "Screening"
	OriginRecheck   OriginType = "Recheck"
	OriginFlyCheck  OriginType = "FlyCheck"
	OriginTipOff    OriginType = "TipOff"
)

// CaseOrigin is one reason the case exists; a later phase that brings the
// same institution in adds one.
type CaseOrigin struct {
	Type OriginType `json:"type"`
	// The campaign phase.
	// +optional
	Phase string `json:"phase,omitempty"`
	// The InspectionSample that drew the institution (Recheck, FlyCheck).
	// +optional
	Sample string `json:"sample,omitempty"`
	// Why the draw picked it.
	// +optional
	Reason SelectionReason `json:"reason,omitempty"`
	// Screening leads (findings) against the institution, and their amount.
	// +optional
	Leads int64 `json:"leads,omitempty"`
	// +optional
	LeadsAmount Money `json:"leadsAmount,omitempty"`
	// The province case this one was handed off from, "<namespace>/<name>".
	// +optional
	HandedOffFrom string `json:"handedOffFrom,omitempty"`
	// The TipOff that brought the case (origin TipOff), by name in the
	// case's namespace; nothing of its reporter.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	TipOff string `json:"tipOff,omitempty"`
	// When the operator recorded the origin.
	At metav1.Time `json:"at"`
}

// CaseStage is where a case stands; computed from spec and clock.
// +kubebuilder:validation:Enum=Open;SelfReported;Inspected;Decided;Rectifying;Closed
type CaseStage string

// DeadlineState is Pending until the due instant, then Met or Missed.
// +kubebuilder:validation:Enum=Pending;Met;Missed
type DeadlineState string

// CaseDeadline is one computed deadline.
type CaseDeadline struct {
	// SelfInspectionReport or Rectification.
	Name string `json:"name"`
	// The first instant at which it is late.
	Due   metav1.Time   `json:"due"`
	State DeadlineState `json:"state"`
	// When it was done, if it was (late or not).
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// CaseAmounts are the case's sums, yuan.
type CaseAmounts struct {
	// Money at risk in the screening leads.
	Leads Money `json:"leads"`
	// Confirmed by the institution's self-inspection.
	SelfReported Money `json:"selfReported"`
	// Confirmed on site.
	Found Money `json:"found"`
	// Found on site and not self-reported.
	UnderReported Money `json:"underReported"`
	// Refunds and fines decided.
	Ordered Money `json:"ordered"`
	// Returned to the fund.
	Recovered Money `json:"recovered"`
	// What is owed and not yet recovered: the order once decided, the
	// self-reported amount before.
	Outstanding Money `json:"outstanding"`
}

// CaseHandOff records a hand-off: on the province case where it went, on
// the city case where it came from, with the province's findings and
// decision the city carries out.
type CaseHandOff struct {
	// +optional
	// The city case this province case was handed off to,
	// "<namespace>/<name>".
	To string `json:"to,omitempty"`
	// +optional
	// The province case this city case came from, "<namespace>/<name>".
	From string `json:"from,omitempty"`
	// +optional
	// When the hand-off was made.
	At *metav1.Time `json:"at,omitempty"`
	// The province's on-site result and decision, as the city received them.
	// +optional
	OnSite *OnSite `json:"onSite,omitempty"`
	// +optional
	Decision *CaseDecision `json:"decision,omitempty"`
}

// ConditionOverdue is True while a deadline has passed without its event
// (abnormal-true, like Stalled).
const ConditionOverdue = "Overdue"

// InspectionCaseStatus is computed by the operator from the spec, the
// origins it recorded and the clock.
type InspectionCaseStatus struct {
	// +optional
	// The generation this status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// Why the case exists: the phases, samples and leads that brought the
	// institution in.
	Origins []CaseOrigin `json:"origins,omitempty"`
	// +optional
	Stage CaseStage `json:"stage,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	// The case's deadlines (self-report, rectification…), each Pending, Met or
	// Overdue.
	Deadlines []CaseDeadline `json:"deadlines,omitempty"`
	// +optional
	Amounts *CaseAmounts `json:"amounts,omitempty"`
	// Found on site beyond the self-report: handle strictly (从严处理).
	// +optional
	UnderReported bool `json:"underReported,omitempty"`
	// Inspected and nothing found (空白户).
	// +optional
	Blank bool `json:"blank,omitempty"`
	// The institution had confirmed violations in an earlier campaign's case
	// (屡查屡犯); RepeatOf names those campaigns.
	// +optional
	RepeatOffender bool `json:"repeatOffender,omitempty"`
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// The earlier campaigns in which the institution had confirmed violations.
	RepeatOf []string `json:"repeatOf,omitempty"`
	// +optional
	HandOff *CaseHandOff `json:"handOff,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	// Ready, Reconciling and Stalled (kstatus), and Overdue.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// InspectionCase is one institution's case in one campaign: its leads and
// self-inspection return, the on-site results, the decision, the money
// recovered and the follow-up. `kubectl get icase --field-selector
// spec.campaignRef.name=X` (or spec.institution.code=Y) selects on the
// server.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=icase,categories=flycheck
// +kubebuilder:printcolumn:name="Institution",type=string,JSONPath=`.spec.institution.name`
// +kubebuilder:printcolumn:name="Code",type=string,JSONPath=`.spec.institution.code`,priority=1
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.stage`
// +kubebuilder:printcolumn:name="Found",type=string,JSONPath=`.status.amounts.found`
// +kubebuilder:printcolumn:name="Recovered",type=string,JSONPath=`.status.amounts.recovered`
// +kubebuilder:printcolumn:name="Overdue",type=string,JSONPath=`.status.conditions[?(@.type=="Overdue")].status`
// +kubebuilder:printcolumn:name="Under-reported",type=boolean,JSONPath=`.status.underReported`,priority=1
// +kubebuilder:printcolumn:name="Blank",type=boolean,JSONPath=`.status.blank`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:selectablefield:JSONPath=`.spec.campaignRef.name`
// +kubebuilder:selectablefield:JSONPath=`.spec.institution.code`
type InspectionCase struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   InspectionCaseSpec   `json:"spec"`
	Status InspectionCaseStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// InspectionCaseList contains a list of InspectionCase.
type InspectionCaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InspectionCase `json:"items"`
}

func init() {
	SchemeBuilder.Register(&InspectionCase{}, &InspectionCaseList{})
}
