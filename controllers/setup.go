// Package controllers holds one reconciler per kind. They are thin adapters
// between the Kubernetes API and the domain packages under internal/.
//
// InspectionCases have two: CaseOpenerReconciler opens a campaign's cases
// (they are Campaign children, but a 65 000-case opening must not hold the
// Campaign reconciler's phase transitions, so it is a controller of its
// own, one per concern as cert-manager has it), and
// InspectionCaseReconciler keeps each case's status (internal/cases) and
// carries out hand-offs. The Campaign reconciler adds the cases up per
// city.
package controllers

import (
	"slices"

	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options configures every controller of the operator.
type Options struct {
	// Clock drives phase transitions; nil means the real clock. Tests and
	// the demo inject their own.
	Clock clock.Clock
	// OperatorNamespace holds the sampling key Secret; empty means
	// OperatorNamespaceFromEnvironment().
	OperatorNamespace string
	// ScreenerImage runs the screening Job pods unless a ScreeningJob names
	// its own; empty means DefaultScreenerImage.
	ScreenerImage string
	// Screener sets the screening pods' resources and deadline unless a
	// ScreeningJob names its own; nil means DefaultScreenerDefaults().
	Screener *ScreenerDefaults

	// withoutCaseOpener leaves the case opener out. Only
	// BenchmarkScaleCampaigns sets it: its 100 campaigns would otherwise
	// open ~650 000 cases for their drawn institutions, and it measures the
	// draws (the case opening has BenchmarkScaleCases).
	withoutCaseOpener bool
}

// SetupWithManager registers all controllers with mgr.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Screener == nil {
		d := DefaultScreenerDefaults()
		opts.Screener = &d
	}
	if opts.OperatorNamespace == "" {
		opts.OperatorNamespace = OperatorNamespaceFromEnvironment()
	}
	recorder := func(name string) events.EventRecorder {
		return mgr.GetEventRecorder("flycheck-" + name + "-controller")
	}
	holidays := NewHolidayCalendar(mgr.GetAPIReader(), opts.OperatorNamespace)
	caseMetrics.watchCases(mgr.GetClient())
	reconcilers := []interface{ SetupWithManager(ctrl.Manager) error }{
		&CampaignReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock,
			Recorder: recorder("campaign")},
		&RuleSetReconciler{Client: mgr.GetClient(), Clock: opts.Clock, Recorder: recorder("ruleset")},
		&ScreeningJobReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock,
			Recorder: recorder("screeningjob"), ScreenerImage: opts.ScreenerImage, ScreenerDefaults: *opts.Screener,
			OperatorNamespace: opts.OperatorNamespace},
		&InspectionSampleReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock,
			Recorder: recorder("inspectionsample"), OperatorNamespace: opts.OperatorNamespace},
		&CaseOpenerReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock,
			Recorder: recorder("caseopener"), Holidays: holidays, OperatorNamespace: opts.OperatorNamespace},
		&InspectionCaseReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock,
			Recorder: recorder("inspectioncase"), Holidays: holidays},
		&TipOffReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: opts.Clock,
			Recorder: recorder("tipoff"), Holidays: holidays},
	}
	if opts.withoutCaseOpener {
		reconcilers = slices.DeleteFunc(reconcilers, func(r interface{ SetupWithManager(ctrl.Manager) error }) bool {
			_, ok := r.(*CaseOpenerReconciler)
			return ok
		})
	}
	for _, r := range reconcilers {
		if err := r.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}
