package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TipOffChannel is how a tip-off reached the bureau.
// +kubebuilder:validation:Enum=Phone;Email;Letter;Online;InPerson
type TipOffChannel string

// Percent is a rate in percent: a decimal string from 0 to 100 with at most
// 2 decimals, e.g. "5" or "0.5". Never a float.
// +kubebuilder:validation:MaxLength=6
// +kubebuilder:validation:XValidation:rule="self.matches('^(100([.]0{1,2})?|[0-9]{1,2}([.][0-9]{1,2})?)$')",message="a rate is a percentage from 0 to 100 with at most 2 decimals, e.g. \"5\" or \"0.5\""
type Percent string

// TipOffInsider says whether the reporter works, or worked, inside a
// designated institution or retail pharmacy (定点医疗机构、定点零售药店内部人员或原内部人员).
// +kubebuilder:validation:Enum=Current;Former
type TipOffInsider string

// TipOffVerdict is what the investigation found (查证结果).
// +kubebuilder:validation:Enum=Confirmed;NotConfirmed
type TipOffVerdict string

// FundLoss is what the reported conduct did to the fund.
// +kubebuilder:validation:Enum=Caused;Avoided;None
type FundLoss string

// SecretReference names a Secret in the TipOff's namespace.
type SecretReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// TipOffSubject is whom and what the tip-off is about. It never holds
// anything about the reporter.
// +kubebuilder:validation:XValidation:rule="has(self.institutionCode) == has(self.cityCode)",message="an institution named by code needs its city's code (and a city code needs an institution)",fieldPath=".cityCode"
type TipOffSubject struct {
	// National code (fixmedins_code) of the designated institution reported,
	// when known; an accepted tip-off with one opens that institution's
	// InspectionCase.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]+$`
	InstitutionCode string `json:"institutionCode,omitempty"`
	// Name of the institution, e.g. "漯河市某某大药房".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	InstitutionName string `json:"institutionName,omitempty"`
	// Administrative division code of the institution's city, e.g. "411100".
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]{6}$`
	// +kubebuilder:validation:MaxLength=6
	CityCode string `json:"cityCode,omitempty"`
	// What is reported (被举报的事实), in the bureau's words. Write the
	// facts, never who reported them: the identity belongs in the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Description string `json:"description"`
}

// RewardPolicy is a bureau's reward rule (举报奖励标准). The defaults are
// Luohe's 2020 rule: 5 % of the confirmed amount, +1 % for an insider, at
// most ¥100 000, a non-monetary reward under ¥200.
// +kubebuilder:validation:XValidation:rule="!has(self.ratePercent) || !has(self.insiderBonusPercent) || double(self.ratePercent) + double(self.insiderBonusPercent) <= 100.0",message="ratePercent plus insiderBonusPercent must not exceed 100"
type RewardPolicy struct {
	// Share of the confirmed amount (按查实金额的比例), percent.
	// +kubebuilder:default="5"
	// +optional
	RatePercent Percent `json:"ratePercent,omitempty"`
	// Added to the rate when the reporter is an insider, percent.
	// +kubebuilder:default="1"
	// +optional
	InsiderBonusPercent Percent `json:"insiderBonusPercent,omitempty"`
	// The largest reward, yuan ("0": no cap).
	// +kubebuilder:default="100000"
	// +optional
	Cap Money `json:"cap,omitempty"`
	// A reward under this many yuan is non-monetary (精神奖励).
	// +kubebuilder:default="200"
	// +optional
	NonMonetaryBelow Money `json:"nonMonetaryBelow,omitempty"`
}

// TipOffSpec is what the receiving bureau records of a tip-off (举报).
// Dates are days ("2020-09-25") or RFC 3339 date-times, read in the
// campaign's time zone (Asia/Shanghai without a campaign).
// +kubebuilder:validation:XValidation:rule="(has(self.anonymous) && self.anonymous) != has(self.identitySecretRef)",message="a real-name tip-off names the Secret holding the reporter's identity (identitySecretRef); an anonymous one has none",fieldPath=".identitySecretRef"
// +kubebuilder:validation:XValidation:rule="has(oldSelf.campaignRef) == has(self.campaignRef) && (!has(self.campaignRef) || self.campaignRef.name == oldSelf.campaignRef.name)",message="a tip-off's campaign cannot change: campaignRef is set when the tip-off is created (to move it, create the TipOff anew)",fieldPath=".campaignRef"
// +kubebuilder:validation:XValidation:rule="!has(self.acceptedAt) || self.receivedAt.substring(0, 10) <= self.acceptedAt.substring(0, 10)",message="a tip-off cannot be accepted before it was received",fieldPath=".acceptedAt"
// +kubebuilder:validation:XValidation:rule="!has(self.feedbackAt) || self.receivedAt.substring(0, 10) <= self.feedbackAt.substring(0, 10)",message="feedback cannot come before the tip-off was received",fieldPath=".feedbackAt"
// +kubebuilder:validation:XValidation:rule="!has(self.closedAt) || (has(self.acceptedAt) && self.acceptedAt.substring(0, 10) <= self.closedAt.substring(0, 10))",message="only an accepted tip-off is closed, not before its acceptance",fieldPath=".closedAt"
// +kubebuilder:validation:XValidation:rule="!has(self.verdict) || has(self.acceptedAt)",message="a verdict needs the tip-off accepted (acceptedAt)",fieldPath=".verdict"
// +kubebuilder:validation:XValidation:rule="!has(self.confirmedAmount) || (has(self.verdict) && self.verdict == 'Confirmed')",message="a confirmed amount needs the verdict Confirmed",fieldPath=".confirmedAmount"
// +kubebuilder:validation:XValidation:rule="!has(self.fundLoss) || has(self.verdict)",message="the loss to the fund is recorded with the verdict",fieldPath=".fundLoss"
// +kubebuilder:validation:XValidation:rule="!has(self.rewardPaidAt) || (has(self.verdict) && self.verdict == 'Confirmed' && has(self.closedAt) && self.closedAt.substring(0, 10) <= self.rewardPaidAt.substring(0, 10))",message="a reward is paid only on a confirmed tip-off, once it is closed",fieldPath=".rewardPaidAt"
// +kubebuilder:validation:XValidation:rule="!has(self.rewardPaidAt) || (has(self.wantsReward) && self.wantsReward)",message="a reward is paid only to a reporter who wants it",fieldPath=".rewardPaidAt"
type TipOffSpec struct {
	// When the tip-off reached the bureau (受理登记); the feedback deadline
	// counts from it.
	ReceivedAt Date `json:"receivedAt"`
	// How it came in.
	Channel TipOffChannel `json:"channel"`
	// The reporter gave no identity (匿名举报). Exactly the real-name
	// tip-offs name an identitySecretRef.
	// +optional
	Anonymous bool `json:"anonymous,omitempty"`
	// The reporter asked to be told the outcome and left a way to be reached:
	// feedback is due 15 working days after receipt.
	// +optional
	WantsFeedback bool `json:"wantsFeedback,omitempty"`
	// The reporter wants the reward (举报人选择愿意得到举报奖励).
	// +optional
	WantsReward bool `json:"wantsReward,omitempty"`
	// The Secret, in this namespace, holding the identity of a real-name
	// reporter (name, phone, ID number). The identity is never written in
	// the TipOff itself; the operator never reads the Secret.
	// +optional
	IdentitySecretRef *SecretReference `json:"identitySecretRef,omitempty"`
	// Whom and what the tip-off reports.
	Subject TipOffSubject `json:"subject"`
	// The reporter is a current or former insider of a designated
	// institution or retail pharmacy: the reward rate rises by the policy's
	// insider bonus.
	// +optional
	Insider TipOffInsider `json:"insider,omitempty"`
	// The main facts were already known to the bureau before the tip-off
	// (事先已掌握): no reward.
	// +optional
	AlreadyKnown bool `json:"alreadyKnown,omitempty"`
	// When the bureau accepted the tip-off as a case (立案); the closing
	// deadline counts from it, and with a subject institution the
	// institution's InspectionCase is opened.
	// +optional
	AcceptedAt Date `json:"acceptedAt,omitempty"`
	// When feedback was given to the reporter.
	// +optional
	FeedbackAt Date `json:"feedbackAt,omitempty"`
	// What the investigation found (查证属实 or not); needs acceptedAt.
	// +optional
	Verdict TipOffVerdict `json:"verdict,omitempty"`
	// What the reported conduct did to the fund: caused a loss, a loss the
	// tip-off avoided, or none. Without it, a confirmed amount above 0
	// counts as a loss.
	// +optional
	FundLoss FundLoss `json:"fundLoss,omitempty"`
	// The amount the case confirmed (查实金额), yuan; the reward is a share
	// of it.
	// +optional
	ConfirmedAmount Money `json:"confirmedAmount,omitempty"`
	// When the case was closed (办结).
	// +optional
	ClosedAt Date `json:"closedAt,omitempty"`
	// When the reward was paid (兑现); only on a confirmed, closed tip-off.
	// +optional
	RewardPaidAt Date `json:"rewardPaidAt,omitempty"`
	// The reward rule; Luohe's when left out.
	// +kubebuilder:default={}
	// +optional
	RewardPolicy *RewardPolicy `json:"rewardPolicy,omitempty"`
	// The campaign whose per-city roll-up counts this tip-off and whose case
	// of the institution it opens; cannot change once set.
	// +optional
	CampaignRef *CampaignReference `json:"campaignRef,omitempty"`
}

// RewardState says whether and how the reporter is rewarded.
// +kubebuilder:validation:Enum=Pending;None;NonMonetary;Monetary
type RewardState string

// RewardReason is why a reward is ruled out.
// +kubebuilder:validation:Enum=NotConfirmed;NoLoss;AlreadyKnown;NotWanted
type RewardReason string

// TipOffReward is the reward the policy gives.
type TipOffReward struct {
	// Pending (no verdict yet), None (not eligible, see reasons),
	// NonMonetary (under the policy's threshold) or Monetary.
	State RewardState `json:"state"`
	// Why there is no reward.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4
	Reasons []RewardReason `json:"reasons,omitempty"`
	// The rate applied, percent, with the insider bonus.
	// +optional
	RatePercent Percent `json:"ratePercent,omitempty"`
	// The reward, yuan, rounded down to the fen: paid in money when
	// Monetary; the computed amount when NonMonetary.
	// +optional
	Amount Money `json:"amount,omitempty"`
	// The share was above the policy's cap; amount is the cap.
	// +optional
	Capped bool `json:"capped,omitempty"`
	// When it was paid.
	// +optional
	PaidAt *metav1.Time `json:"paidAt,omitempty"`
}

// TipOffStatus is computed by the operator from the spec and the clock.
type TipOffStatus struct {
	// The generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Feedback (15 working days after receipt, when asked) and Closing (30
	// working days after acceptance), on the official calendar.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=4
	Deadlines []CaseDeadline `json:"deadlines,omitempty"`
	// The reward under spec.rewardPolicy.
	// +optional
	Reward *TipOffReward `json:"reward,omitempty"`
	// The InspectionCase the tip-off opened or joined, "<namespace>/<name>".
	// It carries the institution and the origin TipOff, nothing of the
	// reporter.
	// +optional
	Case string `json:"case,omitempty"`
	// Ready, Reconciling, Stalled, and Overdue (True while a deadline has
	// passed without its event).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TipOff is a tip-off (举报) received by a bureau, in the bureau's
// namespace: its deadlines, its reward and the case it opened. The
// reporter's identity is only ever in the Secret identitySecretRef names,
// readable by the bureau's tip-off officers (flycheck-tipoff-identity),
// never by city viewers or the operator.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tipoff,categories=flycheck
// +kubebuilder:printcolumn:name="Received",type=string,JSONPath=`.spec.receivedAt`
// +kubebuilder:printcolumn:name="Channel",type=string,JSONPath=`.spec.channel`
// +kubebuilder:printcolumn:name="Institution",type=string,JSONPath=`.spec.subject.institutionName`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.spec.acceptedAt`
// +kubebuilder:printcolumn:name="Verdict",type=string,JSONPath=`.spec.verdict`
// +kubebuilder:printcolumn:name="Reward",type=string,JSONPath=`.status.reward.state`
// +kubebuilder:printcolumn:name="Amount",type=string,JSONPath=`.status.reward.amount`
// +kubebuilder:printcolumn:name="Overdue",type=string,JSONPath=`.status.conditions[?(@.type=="Overdue")].status`
// +kubebuilder:printcolumn:name="Anonymous",type=boolean,JSONPath=`.spec.anonymous`,priority=1
// +kubebuilder:printcolumn:name="Case",type=string,JSONPath=`.status.case`,priority=1
// +kubebuilder:printcolumn:name="Closed",type=string,JSONPath=`.spec.closedAt`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:selectablefield:JSONPath=`.spec.campaignRef.name`
type TipOff struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// What the bureau recorded.
	Spec TipOffSpec `json:"spec"`
	// What the operator computed.
	Status TipOffStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TipOffList contains a list of TipOff.
type TipOffList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TipOff `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TipOff{}, &TipOffList{})
}
