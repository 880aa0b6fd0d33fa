package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// Field indexes of the manager's cache, all defined here, so that a watch
// handler maps an event to the objects it concerns with one indexed List
// instead of listing a kind cluster-wide.
const (
	// sampleFrameIndex indexes InspectionSamples by "ScreeningJob/<name>" and
	// "ConfigMap/<name>" of their spec.frames.
	sampleFrameIndex = "flycheck.spec.frames"
	// screeningJobFrameIndex indexes ScreeningJobs by status.frameConfigMap.
	screeningJobFrameIndex = "flycheck.status.frameConfigMap"
	// screeningJobWaitingIndex indexes the ScreeningJobs that have not yet
	// snapshotted their rules by the RuleSets they name: only those wait for
	// a RuleSet to appear or change.
	screeningJobWaitingIndex = "flycheck.spec.ruleSets.waiting"
	// campaignNamespaceIndex indexes Campaigns by the namespaces they need.
	campaignNamespaceIndex = "flycheck.spec.namespaces"
	// caseCampaignIndex indexes InspectionCases by spec.campaignRef.name:
	// the Campaign's roll-up lists a campaign's cases with it. The two case
	// indexes carry the names of the CRD's selectable fields, so the same
	// MatchingFields works against the cache and against the API server.
	caseCampaignIndex = "spec.campaignRef.name"
	// caseInstitutionIndex indexes InspectionCases by institution code: a
	// case finds the institution's earlier cases (repeat offenders) with it.
	caseInstitutionIndex = "spec.institution.code"
	// caseCalendarIndex holds the cases whose status depends on the
	// working-day calendar (a deadline in working days, or one that could not
	// be counted yet): a change of the holiday ConfigMap re-evaluates them.
	caseCalendarIndex = "flycheck.calendar"
	// tipOffCampaignIndex indexes TipOffs by spec.campaignRef.name, the
	// TipOff CRD's selectable field of the same name (tipOffCampaignField):
	// the Campaign's roll-up counts a campaign's tip-offs with it. The key
	// differs from the field because caseCampaignIndex has the field's name.
	tipOffCampaignIndex = "TipOff " + tipOffCampaignField
	tipOffCampaignField = "spec.campaignRef.name"
)

func frameIndexKey(kind, name string) string { return kind + "/" + name }

// fieldIndexes are the definitions of every field index, by field name.
var fieldIndexes = map[string]struct {
	obj client.Object
	fn  client.IndexerFunc
}{
	sampleFrameIndex: {&flycheckv1.InspectionSample{}, func(o client.Object) []string {
		var keys []string
		for _, f := range o.(*flycheckv1.InspectionSample).Spec.Frames {
			if f.ScreeningJob != "" {
				keys = append(keys, frameIndexKey("ScreeningJob", f.ScreeningJob))
			}
			if f.ConfigMap != "" {
				keys = append(keys, frameIndexKey("ConfigMap", f.ConfigMap))
			}
		}
		return keys
	}},
	screeningJobFrameIndex: {&flycheckv1.ScreeningJob{}, func(o client.Object) []string {
		if cm := o.(*flycheckv1.ScreeningJob).Status.FrameConfigMap; cm != "" {
			return []string{cm}
		}
		return nil
	}},
	screeningJobWaitingIndex: {&flycheckv1.ScreeningJob{}, func(o client.Object) []string {
		sj := o.(*flycheckv1.ScreeningJob)
		if sj.Status.RulesConfigMap != "" {
			return nil
		}
		return sj.Spec.RuleSets
	}},
	campaignNamespaceIndex: {&flycheckv1.Campaign{}, func(o client.Object) []string {
		return campaignNamespaces(o.(*flycheckv1.Campaign))
	}},
	caseCampaignIndex: {&flycheckv1.InspectionCase{}, func(o client.Object) []string {
		if ref := o.(*flycheckv1.InspectionCase).Spec.CampaignRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}},
	caseInstitutionIndex: {&flycheckv1.InspectionCase{}, func(o client.Object) []string {
		return []string{o.(*flycheckv1.InspectionCase).Spec.Institution.Code}
	}},
	tipOffCampaignIndex: {&flycheckv1.TipOff{}, func(o client.Object) []string {
		if ref := o.(*flycheckv1.TipOff).Spec.CampaignRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}},
	caseCalendarIndex: {&flycheckv1.InspectionCase{}, func(o client.Object) []string {
		if usesCalendar(o.(*flycheckv1.InspectionCase)) {
			return []string{"yes"}
		}
		return nil
	}},
}

// indexFieldNames are the indexed fields' names where they differ from
// the index's key (two kinds index a field of the same name).
var indexFieldNames = map[string]string{tipOffCampaignIndex: tipOffCampaignField}

// indexFields registers the named indexes with a cache (the manager's
// GetFieldIndexer()). Each reconciler asks for the ones its watch handlers
// use (a field can be registered only once per cache, and no two reconcilers
// share one).
func indexFields(idx client.FieldIndexer, fields ...string) error {
	for _, f := range fields {
		ix, ok := fieldIndexes[f]
		if !ok {
			panic("unknown field index " + f)
		}
		field := f
		if name, ok := indexFieldNames[f]; ok {
			field = name
		}
		if err := idx.IndexField(context.Background(), ix.obj, field, ix.fn); err != nil {
			return err
		}
	}
	return nil
}

// requestsFor maps listed objects to reconcile requests (a watch handler's
// answer).
func requestsFor[T any, PT interface {
	*T
	client.Object
}](items []T) []reconcile.Request {
	out := make([]reconcile.Request, len(items))
	for i := range items {
		out[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(PT(&items[i]))}
	}
	return out
}
