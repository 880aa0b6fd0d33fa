package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types shared by every kind. Ready is the summary a human or
// `kubectl wait` reads; Reconciling and Stalled follow the kstatus
// "abnormal-true" convention so Argo CD and Flux judge health correctly.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// ConditionRulesSkipped (ScreeningJob) is True when rules did not run
// because a table they need is missing from the extract.
const ConditionRulesSkipped = "RulesSkipped"

// Date is a calendar date ("2020-05-01", the start of that day in the
// campaign's time zone; as an end, the whole day is included) or an RFC 3339
// date-time ("2026-11-22T10:00:00+08:00", for compressed schedules).
// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$`
// +kubebuilder:validation:MaxLength=40
// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}') || (int(self.substring(0, 4)) >= 1 && int(self.substring(5, 7)) >= 1 && int(self.substring(5, 7)) <= 12 && int(self.substring(8, 10)) >= 1 && int(self.substring(8, 10)) <= (int(self.substring(5, 7)) == 2 ? ((int(self.substring(0, 4)) % 4 == 0 && int(self.substring(0, 4)) % 100 != 0) || int(self.substring(0, 4)) % 400 == 0 ? 29 : 28) : (int(self.substring(5, 7)) in [4, 6, 9, 11] ? 30 : 31)))",messageExpression="self + ' is not a calendar date: the year must be 0001 to 9999, the month 01 to 12 and the day within the month'"
// +kubebuilder:validation:XValidation:rule="size(self) <= 10 || self.substring(11).matches('^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]')",messageExpression="self + ' has no valid time of day (00:00:00 to 23:59:59)'"
type Date string

// DataWindow is the claims period under review (e.g. 2019-01-01 to
// 2019-12-31); screening only looks at visits that began inside it.
// +kubebuilder:validation:XValidation:rule="self.from.substring(0, 10) <= self.to.substring(0, 10)",message="dataWindow.from must not be after dataWindow.to"
type DataWindow struct {
	From Date `json:"from"`
	To   Date `json:"to"`
}

// DataFormat is how a claims extract is stored.
// +kubebuilder:validation:Enum=Parquet;CSV
type DataFormat string

const (
	FormatParquet DataFormat = "Parquet"
	FormatCSV     DataFormat = "CSV"
)

// Encoding of CSV extracts; Chinese platforms usually export GB18030. Auto
// reads each file as UTF-8 when it is valid UTF-8, else as GB18030
// (docs/data-format.md); a byte-order mark is skipped in every mode.
// +kubebuilder:validation:Enum=Auto;UTF-8;GB18030
type Encoding string

const (
	EncodingAuto    Encoding = "Auto"
	EncodingUTF8    Encoding = "UTF-8"
	EncodingGB18030 Encoding = "GB18030"
)

// DataSource says where a claims extract lives: a directory on a
// PersistentVolumeClaim holding the tables of docs/data-format.md.
type DataSource struct {
	// PersistentVolumeClaim in the screening namespace that holds the extract;
	// mounted read-only.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	PersistentVolumeClaim string `json:"persistentVolumeClaim"`
	// Path of the extract's directory inside the volume.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path,omitempty"`
	// +optional
	// +kubebuilder:default=Parquet
	Format DataFormat `json:"format,omitempty"`
	// Encoding of CSV files; ignored for Parquet.
	// +optional
	// +kubebuilder:default=Auto
	Encoding Encoding `json:"encoding,omitempty"`
	// Columns says which column of each file holds which documented column,
	// for extracts whose headers are spelled differently (docs/data-format.md,
	// "Column names"). Headers always match ignoring case and surrounding
	// spaces.
	// +optional
	Columns *ColumnMapping `json:"columns,omitempty"`
}

// ColumnMapping maps the column names of an extract's files to the
// documented names, per table; what the screener's --columns file holds.
type ColumnMapping struct {
	// A built-in profile of platform spellings: national (interface field
	// codes), zh (Chinese headers) or short (short English names).
	// +optional
	// +kubebuilder:validation:Enum=national;short;zh
	Profile string `json:"profile,omitempty"`
	// Per table (institutions, visits, fee_lines, diagnoses, persons): the
	// column name in the file → the documented name, e.g.
	// {institutions: {city_code: admdvs}}.
	// +optional
	// +kubebuilder:validation:MaxProperties=5
	// +kubebuilder:validation:XValidation:rule="self.all(t, t in ['institutions', 'visits', 'fee_lines', 'diagnoses', 'persons'])",message="tables are institutions, visits, fee_lines, diagnoses and persons"
	Tables map[string]TableColumns `json:"tables,omitempty"`
}

// TableColumns maps column names of one file to documented names.
// +kubebuilder:validation:MaxProperties=64
type TableColumns map[string]DocumentedColumn

// DocumentedColumn is a column name of docs/data-format.md; that it belongs
// to the table is checked by the screener.
// +kubebuilder:validation:Enum=fixmedins_code;fixmedins_name;admdvs;hosp_lv;ownership;fixmedins_type;mdtrt_id;psn_no;med_type;begntime;endtime;gend;age;feedetl_sn;setl_id;hilist_code;hilist_name;cnt;pric;det_item_fee_sumamt;fee_ocur_time;diag_code;maindiag_flag;death_date
type DocumentedColumn string

// SamplingPurpose says which kind of inspection a draw is for.
// +kubebuilder:validation:Enum=Recheck;FlyCheck
type SamplingPurpose string

const (
	// PurposeRecheck is a city's spot-check after self-inspection (抽查复查).
	PurposeRecheck SamplingPurpose = "Recheck"
	// PurposeFlyCheck is the province's unannounced inspection (飞行检查).
	PurposeFlyCheck SamplingPurpose = "FlyCheck"
)

// SamplingPolicy is the quota of a draw (DESIGN §4). Jiangsu 2020: a recheck
// takes ≥10 % of each city's designated institutions, ≥2 of them tertiary,
// ≥26 province-wide; a fly-check ≥2 tertiary per city and ≥30 in all.
type SamplingPolicy struct {
	// Minimum share of each city's institutions, in percent (0 for fly-checks,
	// which have only per-city tertiary and total minimums).
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MinPercent int32 `json:"minPercent"`
	// Minimum tertiary (三级) hospitals per city.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	MinTertiaryPerCity int32 `json:"minTertiaryPerCity"`
	// Minimum institutions across the whole draw (province-wide).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	MinTotal int32 `json:"minTotal,omitempty"`
	// Share, in percent, of each city's non-quota picks taken in order of
	// screening risk rather than at random.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	RiskBasedPercent int32 `json:"riskBasedPercent,omitempty"`
}

// StatusConditions gives the controllers one way to reach any kind's
// conditions.
func (c *Campaign) StatusConditions() *[]metav1.Condition { return &c.Status.Conditions }

// StatusConditions gives the controllers one way to reach any kind's
// conditions.
func (r *RuleSet) StatusConditions() *[]metav1.Condition { return &r.Status.Conditions }

// StatusConditions gives the controllers one way to reach any kind's
// conditions.
func (s *ScreeningJob) StatusConditions() *[]metav1.Condition { return &s.Status.Conditions }

// StatusConditions gives the controllers one way to reach any kind's
// conditions.
func (s *InspectionSample) StatusConditions() *[]metav1.Condition { return &s.Status.Conditions }
