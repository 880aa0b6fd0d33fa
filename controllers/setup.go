// Package controllers holds one reconciler per kind. They are thin adapters
// between the Kubernetes API and the domain packages under internal/.
package controllers

import (
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
}

// SetupWithManager registers all controllers with mgr.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.OperatorNamespace == "" {
		opts.OperatorNamespace = OperatorNamespaceFromEnvironment()
	}
	if err := (&CampaignReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Clock:     opts.Clock,
		Recorder:  mgr.GetEventRecorder("flycheck-campaign-controller"),
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&RuleSetReconciler{
		Client:   mgr.GetClient(),
		Clock:    opts.Clock,
		Recorder: mgr.GetEventRecorder("flycheck-ruleset-controller"),
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&ScreeningJobReconciler{
		Client:        mgr.GetClient(),
		APIReader:     mgr.GetAPIReader(),
		Clock:         opts.Clock,
		Recorder:      mgr.GetEventRecorder("flycheck-screeningjob-controller"),
		ScreenerImage: opts.ScreenerImage,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&InspectionSampleReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Clock:             opts.Clock,
		Recorder:          mgr.GetEventRecorder("flycheck-inspectionsample-controller"),
		OperatorNamespace: opts.OperatorNamespace,
	}).SetupWithManager(mgr)
}
