package controllers

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/cases"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

// The operator's domain metrics, served with controller-runtime's own on the
// manager's metrics endpoint. Each is documented in docs/metrics.md
// (TestMetricsDocumented keeps the two in step). They count decisions after
// the status write that carries them succeeded, as events are recorded, so
// a retried reconcile never counts twice. Labels are campaign names,
// namespaces, categories and stages: never an institution, a key or a seed.

// The metrics authentication and authorization filter (cmd/flycheck
// manager) asks the API server about each scrape's token.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

var (
	phaseTransitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flycheck_phase_transitions_total",
		Help: "Campaign phase transitions observed, by campaign and transition (started, completed, reopened).",
	}, []string{"campaign", "transition"})
	scheduleLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "flycheck_schedule_lag_seconds",
		Help:    "Delay between a phase boundary as scheduled and the reconcile that carried it out.",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
	})
	screeningLines = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flycheck_screening_lines_total",
		Help: "Fee lines read by succeeded screenings, by namespace (city).",
	}, []string{"namespace"})
	screeningFindings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flycheck_screening_findings_total",
		Help: "Findings of succeeded screenings, by rule category.",
	}, []string{"category"})
	screeningDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "flycheck_screening_duration_seconds",
		Help:    "Wall time of finished screenings (Job created to outcome), by outcome (Succeeded, Failed).",
		Buckets: prometheus.ExponentialBuckets(30, 2, 12),
	}, []string{"outcome"})
	samplesDrawn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flycheck_samples_drawn_total",
		Help: "InspectionSamples drawn, by purpose (Recheck, FlyCheck).",
	}, []string{"purpose"})
	sampledInstitutions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flycheck_sampled_institutions_total",
		Help: "Institutions selected by the draws, by purpose.",
	}, []string{"purpose"})
	shardResultsRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "flycheck_shard_results_refused_total",
		Help: "Shard result ConfigMaps refused (bad or missing signature, wrong index, unreadable).",
	})
	reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flycheck_reconcile_errors_total",
		Help: "Reconciles that failed with an error to retry (status reason ReconcileError), by kind.",
	}, []string{"kind"})
	decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flycheck_decisions_total",
		Help: "Decisions recorded as events (and logged), by kind, event type and reason.",
	}, []string{"kind", "type", "reason"})
)

// domainCollectors is every metric above plus the case gauges.
func domainCollectors() []prometheus.Collector {
	return []prometheus.Collector{phaseTransitions, scheduleLag, screeningLines, screeningFindings, screeningDuration,
		samplesDrawn, sampledInstitutions, shardResultsRefused, reconcileErrors, decisions, caseMetrics}
}

func init() {
	metrics.Registry.MustRegister(domainCollectors()...)
	// Known label values start at zero, so that rate() and alerts see the
	// series before the first increment.
	for _, k := range []string{"Campaign", "RuleSet", "ScreeningJob", "InspectionSample", "InspectionCase", "TipOff"} {
		reconcileErrors.WithLabelValues(k)
	}
	for _, p := range []flycheckv1.SamplingPurpose{flycheckv1.PurposeRecheck, flycheckv1.PurposeFlyCheck} {
		samplesDrawn.WithLabelValues(string(p))
		sampledInstitutions.WithLabelValues(string(p))
	}
}

// kindOf names an object's kind from its Go type (our objects' TypeMeta is
// empty once read through a typed client).
func kindOf(obj client.Object) string {
	t := reflect.TypeOf(obj)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// recordDecision is the rest of recording a decision (emit sends its
// event): an info log line with the same facts as the event, and the
// metrics the decision moves.
func recordDecision(ctx context.Context, obj client.Object, n note) {
	kind := kindOf(obj)
	logf.FromContext(ctx).Info(n.msg, "decision", n.reason, "action", n.action, "eventType", n.typ,
		"kind", kind, "name", obj.GetName(), "namespace", obj.GetNamespace())
	decisions.WithLabelValues(kind, n.typ, n.reason).Inc()
	switch o := obj.(type) {
	case *flycheckv1.ScreeningJob:
		switch n.reason {
		case ScreeningJobReasonSucceeded:
			screeningLines.WithLabelValues(o.Namespace).Add(float64(o.Status.LinesScanned))
			for cat, v := range o.Status.Findings.ByCategory {
				screeningFindings.WithLabelValues(cat).Add(float64(v))
			}
			observeScreeningDuration(o)
		case ScreeningJobReasonFailed, ScreeningJobReasonResultsMissing:
			observeScreeningDuration(o)
		case ScreeningJobReasonResultRefused:
			shardResultsRefused.Inc()
		}
	case *flycheckv1.InspectionSample:
		if n.reason == SampleReasonDrawn {
			samplesDrawn.WithLabelValues(string(o.Spec.Purpose)).Inc()
			if o.Status.Counts != nil {
				sampledInstitutions.WithLabelValues(string(o.Spec.Purpose)).Add(float64(o.Status.Counts.Selected))
			}
		}
	}
}

func observeScreeningDuration(sj *flycheckv1.ScreeningJob) {
	if sj.Status.StartTime == nil || sj.Status.CompletionTime == nil {
		return
	}
	screeningDuration.WithLabelValues(string(sj.Status.State)).Observe(sj.Status.CompletionTime.Sub(sj.Status.StartTime.Time).Seconds())
}

// observeTransitions counts the transitions a written Campaign status
// carried out and how late each was.
func observeTransitions(camp *flycheckv1.Campaign, transitions []schedule.Transition, now time.Time) {
	for _, tr := range transitions {
		what := "started"
		switch {
		case tr.To == schedule.Completed:
			what = "completed"
		case tr.From != schedule.Pending:
			what = "reopened"
		}
		phaseTransitions.WithLabelValues(camp.Name, what).Inc()
		scheduleLag.Observe(max(0, now.Sub(tr.At).Seconds()))
	}
}

// caseCollector reports the InspectionCases per namespace at scrape time
// from the manager's cache: by stage, overdue, and yuan recovered. Counting
// at scrape time from the cache costs no API call and cannot drift from
// the objects.
type caseCollector struct {
	mu     sync.Mutex
	reader client.Reader
}

var (
	caseMetrics    = &caseCollector{}
	casesByStage   = prometheus.NewDesc("flycheck_inspection_cases", "InspectionCases by namespace (city or province) and stage.", []string{"namespace", "stage"}, nil)
	casesOverdue   = prometheus.NewDesc("flycheck_inspection_cases_overdue", "InspectionCases with a deadline passed and not met (Overdue=True), by namespace.", []string{"namespace"}, nil)
	recoveredYuan  = prometheus.NewDesc("flycheck_recovered_yuan", "Yuan recovered to the fund (sum of the cases' status.amounts.recovered), by namespace.", []string{"namespace"}, nil)
	casesListError = prometheus.NewDesc("flycheck_inspection_cases_list_errors", "1 when the last scrape could not list InspectionCases from the cache.", nil, nil)
)

// watchCases makes the collector read from r (the running manager's cache).
func (c *caseCollector) watchCases(r client.Reader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reader = r
}

func (c *caseCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{casesByStage, casesOverdue, recoveredYuan, casesListError} {
		ch <- d
	}
}

func (c *caseCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	r := c.reader
	c.mu.Unlock()
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var list flycheckv1.InspectionCaseList
	if err := r.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.MustNewConstMetric(casesListError, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(casesListError, prometheus.GaugeValue, 0)
	type key struct{ ns, stage string }
	byStage := map[key]int{}
	overdue := map[string]int{}
	recovered := map[string]cases.Fen{}
	for _, ic := range list.Items {
		byStage[key{ic.Namespace, string(ic.Status.Stage)}]++
		if conditionReason(ic.Status.Conditions, flycheckv1.ConditionOverdue) != "" {
			overdue[ic.Namespace]++
		} else if _, ok := overdue[ic.Namespace]; !ok {
			overdue[ic.Namespace] = 0
		}
		if ic.Status.Amounts != nil && ic.Status.Amounts.Recovered != "" {
			if v, err := cases.ParseYuan(string(ic.Status.Amounts.Recovered)); err == nil {
				recovered[ic.Namespace] += v
			}
		} else if _, ok := recovered[ic.Namespace]; !ok {
			recovered[ic.Namespace] = 0
		}
	}
	for k, n := range byStage {
		ch <- prometheus.MustNewConstMetric(casesByStage, prometheus.GaugeValue, float64(n), k.ns, k.stage)
	}
	for ns, n := range overdue {
		ch <- prometheus.MustNewConstMetric(casesOverdue, prometheus.GaugeValue, float64(n), ns)
	}
	for ns, v := range recovered {
		ch <- prometheus.MustNewConstMetric(recoveredYuan, prometheus.GaugeValue, float64(v)/100, ns)
	}
}
