package controllers

// Reasons of conditions and events, one block per kind, named
// <Kind>Reason<What>. The string values are API: alerts, `kubectl wait` and
// GitOps health checks match on them, so they never change once released.

// ReasonUpToDate is the reason of a Reconciling or Stalled condition that is
// False because nothing is wrong.
const ReasonUpToDate = "UpToDate"

// ReasonReconcileError is the reason of Ready=False/Reconciling=True while
// a reconcile keeps failing with an error that may go away (an API error);
// the message is the error.
const ReasonReconcileError = "ReconcileError"

// Campaign.
const (
	// Ready=True.
	CampaignReasonOnSchedule = "OnSchedule"
	CampaignReasonNotStarted = "NotStarted"
	CampaignReasonFinished   = "Finished"
	CampaignReasonSuspended  = "Suspended"
	// Stalled=True: the spec cannot be scheduled.
	CampaignReasonInvalidTimeZone = "InvalidTimeZone"
	CampaignReasonInvalidSchedule = "InvalidSchedule"
	// Reconciling=True until the namespaces appear (they are watched).
	CampaignReasonNamespaceNotFound = "NamespaceNotFound"
	// Stalled=True: a child's name is held by an object the campaign does not own.
	CampaignReasonChildNameTaken = "ChildNameTaken"

	// Events.
	CampaignReasonPhaseStarted            = "PhaseStarted"
	CampaignReasonPhaseCompleted          = "PhaseCompleted"
	CampaignReasonPhaseReopened           = "PhaseReopened"
	CampaignReasonMissedTransitions       = "MissedTransitions"
	CampaignReasonSuspendEvent            = "CampaignSuspended"
	CampaignReasonResumeEvent             = "CampaignResumed"
	CampaignReasonScreeningJobCreated     = "ScreeningJobCreated"
	CampaignReasonInspectionSampleCreated = "InspectionSampleCreated"
	CampaignReasonFrameCopied             = "FrameCopied"
	CampaignReasonRulesSkipped            = "RulesSkipped"
)

// Campaign milestones, cards and report snapshots (events).
const (
	CampaignReasonMilestoneMet    = "MilestoneMet"
	CampaignReasonMilestoneMissed = "MilestoneMissed"
	// Warning: a city's red or yellow card changed.
	CampaignReasonCardChanged   = "CardChanged"
	CampaignReasonReportWritten = "ReportWritten"
	// CampaignReasonReportFailed: a report could not be written; retried
	// within a minute.
	CampaignReasonReportFailed = "ReportFailed"
	// CampaignReasonReportNameTaken: an object the Campaign does not own
	// holds a report's name; the report is not written there (and the
	// object is not taken for it) until the name is freed.
	CampaignReasonReportNameTaken = "ReportNameTaken"
)

// RuleSet.
const (
	RuleSetReasonValid   = "Valid"
	RuleSetReasonInvalid = "InvalidRules"
)

// ScreeningJob.
const (
	// Stalled=True.
	ScreeningJobReasonRuleSetNotFound = "RuleSetNotFound"
	ScreeningJobReasonInvalidRuleSet  = "InvalidRuleSet"
	ScreeningJobReasonJobNameTaken    = "JobNameTaken"
	ScreeningJobReasonFailed          = "Failed"
	// Stalled=True: the frame does not fit in a ConfigMap.
	ScreeningJobReasonFrameTooLarge = "FrameTooLarge"
	// Stalled=True: the frame's name is held by an object the operator did
	// not write (refused, never adopted).
	ScreeningJobReasonFrameNameTaken = "FrameNameTaken"
	// Failed: the Job completed but some shard left no verified result.
	ScreeningJobReasonResultsMissing = "ResultsMissing"
	// Reconciling=True.
	ScreeningJobReasonRunning = "Running"
	// Ready=True.
	ScreeningJobReasonSucceeded = "Succeeded"

	// Events.
	ScreeningJobReasonRulesSnapshotted = "RulesSnapshotted"
	ScreeningJobReasonJobCreated       = "JobCreated"
	ScreeningJobReasonShardFinished    = "ShardFinished"
	// Warning: a shard's live heap outgrew its --memory-limit, which it
	// raised to finish; the shard is too large for its memory budget.
	ScreeningJobReasonShardOverMemory = "ShardOverMemoryBudget"
	// A shard result ConfigMap was refused (bad signature, wrong index...).
	ScreeningJobReasonResultRefused = "ResultRefused"
	// RulesSkipped=True: a table some rules need is missing.
	ScreeningJobReasonMissingTables = "MissingTables"
	// RulesSkipped=False.
	ScreeningJobReasonAllRulesRan = "AllRulesRan"
)

// InspectionSample.
const (
	// Waiting (Ready=False, Reconciling=True): a frame is not ready yet.
	SampleReasonWaitingForFrame = "WaitingForFrame"
	// Stalled: a frame's ScreeningJob failed.
	SampleReasonFrameFailed = "FrameFailed"
	// Stalled: a frame ConfigMap does not parse, or frames overlap.
	SampleReasonInvalidFrame = "InvalidFrame"
	// Stalled: a ScreeningJob's frame ConfigMap does not hold the frame the
	// ScreeningJob reported (replaced), or a snapshot's name is taken.
	SampleReasonFrameDigestMismatch = "FrameDigestMismatch"
	SampleReasonSnapshotNameTaken   = "SnapshotNameTaken"
	// Stalled: the merged frame does not fit in a snapshot ConfigMap.
	SampleReasonFrameTooLarge = "FrameTooLarge"
	// Stalled: the draw rejected its input (policy out of range).
	SampleReasonDrawFailed = "DrawFailed"
	// Stalled: the sampling key Secret cannot be read or created.
	SampleReasonSamplingKeyUnavailable = "SamplingKeyUnavailable"
	// Stalled: the sampling key Secret exists but holds no usable key.
	SampleReasonSamplingKeyInvalid = "SamplingKeyInvalid"
	// Ready=True, and the Normal event of the draw.
	SampleReasonDrawn = "Drawn"
	// FrameChanged=False: the frame still has the digest drawn from.
	SampleReasonFrameUnchanged = "FrameUnchanged"
	// FrameChanged=True: the frame's digest differs from the one drawn from.
	SampleReasonDigestChanged = "DigestChanged"
	// FrameChanged=Unknown: the frame cannot be read any more.
	SampleReasonFrameUnavailable = "FrameUnavailable"
	// The Warning event when the frame's digest changes after the draw.
	SampleReasonFrameChanged = "FrameChanged"
	// Shortfall events use the shortfall kinds as reasons:
	// TertiaryBelowMinimum, CityBelowQuota, FrameBelowMinTotal.
)

// InspectionCase.
const (
	// Ready=True: status computed from the spec, the origins and the clock.
	CaseReasonEvaluated = "Evaluated"
	// Reconciling=True, waiting for what can appear: the case's Campaign,
	// the holiday ConfigMap's entry for a year the calendar does not know.
	CaseReasonCampaignNotFound    = "CampaignNotFound"
	CaseReasonCalendarYearMissing = "CalendarYearMissing"
	// Stalled=True: a date that does not exist (the schema checks the
	// format only), a hand-off to a city the campaign does not have, or the
	// city case's name held by another institution's case.
	CaseReasonInvalidSpec       = "InvalidSpec"
	CaseReasonCityNotInCampaign = "CityNotInCampaign"
	CaseReasonCaseNameTaken     = "CaseNameTaken"
	// Overdue=True / False.
	CaseReasonDeadlineMissed = "DeadlineMissed"
	CaseReasonOnTime         = "OnTime"

	// Events.
	CaseReasonStageChanged = "StageChanged"
	CaseReasonHandedOff    = "HandedOff"
	CaseReasonOriginAdded  = "OriginAdded"
	// Events on the Campaign (self-inspection and recheck openings) and on
	// the fly-check sample (the fly-check's, out of the cities' sight).
	// CasesCreated: an opening's first pass created its cases; CasesOpened:
	// a city's (or the sample's) cases have their status.
	CaseReasonCasesCreated = "CasesCreated"
	CaseReasonCasesOpened  = "CasesOpened"
)

// TipOff.
const (
	// Ready=True: deadlines and reward computed.
	TipOffReasonEvaluated = "Evaluated"
	// Reconciling=True: the named Campaign does not exist (yet), or the
	// calendar does not know a year a deadline falls in.
	TipOffReasonCampaignNotFound    = "CampaignNotFound"
	TipOffReasonCalendarYearMissing = "CalendarYearMissing"
	// Stalled=True: a date that does not exist, a policy that does not
	// parse, or the case's name held by another institution's case.
	TipOffReasonInvalidSpec   = "InvalidSpec"
	TipOffReasonCaseNameTaken = "CaseNameTaken"
	// TipOffReasonCaseFull: the institution's case holds as many origins
	// as it may (32); the tip-off is not added to it.
	TipOffReasonCaseFull = "CaseFull"
	// Overdue=True / False, as on a case (setOverdue).
	TipOffReasonDeadlineMissed = CaseReasonDeadlineMissed
	TipOffReasonOnTime         = CaseReasonOnTime

	// Events.
	TipOffReasonDeadlineSet   = "DeadlineSet"
	TipOffReasonDeadlineMet   = "DeadlineMet"
	TipOffReasonCaseOpened    = "CaseOpened"
	TipOffReasonCaseJoined    = "CaseJoined"
	TipOffReasonRewardDecided = "RewardDecided"
	TipOffReasonRewardPaid    = "RewardPaid"
)
