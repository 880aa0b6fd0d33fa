package v1alpha1

// The contract between the processes of flycheck-operator: the labels,
// annotations, data keys and environment that the manager, the screener pods
// (`flycheck screen`) and the demo's node player agree on. Every one of them
// reads these constants; none re-spells them. Child names are computed by
// functions in package controllers (naming.go).

// Labels put on every object a Campaign creates, so that `kubectl get -l`
// finds a campaign's children and city bureaus can filter by phase.
const (
	LabelCampaign = "flycheck.medfund.io/campaign"
	LabelPhase    = "flycheck.medfund.io/phase"
	LabelCity     = "flycheck.medfund.io/city"
)

// Labels of what a ScreeningJob creates: its Job, rules snapshot, shard
// results and frame.
const (
	// LabelScreeningJob names the ScreeningJob an object belongs to.
	LabelScreeningJob = "flycheck.medfund.io/screeningjob"
	// LabelShard carries a shard result's index.
	LabelShard = "flycheck.medfund.io/shard"
	// LabelRole tells the ConfigMaps of a ScreeningJob apart.
	LabelRole = "flycheck.medfund.io/role"

	RoleRules = "rules"        // the rules snapshot
	RoleShard = "shard-result" // one shard's result
	RoleFrame = "frame"        // the merged sampling frame
	// RoleSnapshot marks the frame an InspectionSample drew from.
	RoleSnapshot = "drawn-frame"
)

// Labels of a Campaign's report snapshots (DESIGN §9), which
// `flycheck report` and the demo read.
const (
	// LabelReport is ReportWeekly or ReportSummary.
	LabelReport = "flycheck.medfund.io/report"
	// LabelScope is "province" or the city's name.
	LabelScope = "flycheck.medfund.io/scope"

	ReportWeekly  = "weekly"
	ReportSummary = "summary"
	// ReportHTMLKey and ReportJSONKey hold a snapshot's page and figures.
	ReportHTMLKey = "report.html"
	ReportJSONKey = "report.json"
)

// AnnotationDigest carries the sha256 of a rules snapshot's content.
const AnnotationDigest = "flycheck.medfund.io/sha256"

// Data keys of the ConfigMaps the operator and the screener exchange.
const (
	// RulesFileKey holds the rules snapshot, in the RuleSet manifest format
	// `flycheck screen --rules` reads.
	RulesFileKey = "rules.yaml"
	// ShardResultKey holds gzip(JSON {summary, stats}) in a shard result
	// ConfigMap's binaryData.
	ShardResultKey = "result.json.gz"
	// ShardSignatureKey holds the HMAC-SHA256 of a shard result (binary),
	// made with the ScreeningJob's signing key over its UID, the shard index
	// and the bytes under ShardResultKey.
	ShardSignatureKey = "result.sig"
	// SigningKeyFileKey is the key of the signing key in the per-job Secret
	// (mounted at SigningKeyMountPath in the shard pods).
	SigningKeyFileKey = "key"
	// FrameKey holds the sampling frame CSV (docs/data-format.md), plain in
	// data or gzip-compressed in binaryData, in a ScreeningJob's frame
	// ConfigMap and in a roster ConfigMap.
	FrameKey = "frame.csv"
)

// Environment of a screening pod.
const (
	// EnvCompletionIndex is the Indexed Job's index of the pod (the Job
	// controller sets it from batchv1.JobCompletionIndexAnnotation).
	EnvCompletionIndex  = "JOB_COMPLETION_INDEX"
	EnvPodNamespace     = "POD_NAMESPACE"
	EnvScreeningJobName = "FLYCHECK_SCREENINGJOB_NAME"
	EnvScreeningJobUID  = "FLYCHECK_SCREENINGJOB_UID"
)

// SigningKeyMountPath is where a shard pod finds its ScreeningJob's signing
// key (file SigningKeyFileKey).
const SigningKeyMountPath = "/var/run/secrets/flycheck.medfund.io/signing"

// ScreenerServiceAccount runs the shard pods; its only right is to create
// ConfigMaps in its namespace (the shard results).
const ScreenerServiceAccount = "flycheck-screener"

// InspectionCases (docs/cases.md).
const (
	// AnnotationCasesOpened is set on a fly-check InspectionSample, in the
	// province namespace, once its cases have been opened: the record that
	// keeps a deleted fly-check case from coming back. (Recheck and
	// self-inspection openings are recorded in Campaign status.)
	AnnotationCasesOpened = "flycheck.medfund.io/cases-opened"
	// ImportFieldManager owns spec.selfInspection of the cases that
	// `flycheck cases import` applied (server-side apply).
	ImportFieldManager = "flycheck-import"
	// HolidayConfigMap in the operator namespace lists the statutory
	// holidays and make-up working days of years the built-in calendar does
	// not know, under HolidayConfigMapKey (internal/calendar.Parse).
	HolidayConfigMap    = "flycheck-holidays"
	HolidayConfigMapKey = "holidays.csv"
)
