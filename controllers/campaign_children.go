package controllers

import (
	"context"
	"fmt"
	"path"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// launchPhases creates the screening jobs and samples of every started
// phase that has not launched yet, and keeps fly-check frames flowing into
// the province namespace. It records each launch in status (so a child a
// user deleted is not brought back). A child whose name is held by someone
// else's object is a stallError.
func (r *CampaignReconciler) launchPhases(ctx context.Context, camp *flycheckv1.Campaign, status *flycheckv1.CampaignStatus, now time.Time) error {
	for i := range camp.Spec.Phases {
		ph := &camp.Spec.Phases[i]
		ps := &status.Phases[i]
		if ps.State == flycheckv1.PhasePending || (ph.Screening == nil && ph.Sampling == nil) {
			continue
		}
		if ps.LaunchedAt == nil {
			var err error
			switch {
			case ph.Screening != nil:
				err = r.createScreeningJobs(ctx, camp, ph)
			case ph.Sampling.Purpose == flycheckv1.PurposeFlyCheck:
				err = r.createFlyCheckSample(ctx, camp, ph)
			default:
				err = r.createRecheckSamples(ctx, camp, ph)
			}
			if err != nil {
				return err
			}
			ps.LaunchedAt = timePtr(now)
		}
		if ph.Sampling != nil && ph.Sampling.Purpose == flycheckv1.PurposeFlyCheck {
			if err := r.copyFlyCheckFrames(ctx, camp, ph); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *CampaignReconciler) createScreeningJobs(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase) error {
	source := camp.Spec.DataSource
	if ph.Screening.Source != nil {
		source = ph.Screening.Source
	}
	for _, city := range camp.Spec.Cities {
		output := flycheckv1.OutputLocation{PersistentVolumeClaim: source.PersistentVolumeClaim,
			Path: path.Join("flycheck-findings", camp.Name, ph.Name, city.Name)}
		if ph.Screening.Output != nil {
			output = *ph.Screening.Output
			output.Path = path.Join(output.Path, camp.Name, ph.Name, city.Name)
		}
		sj := &flycheckv1.ScreeningJob{
			ObjectMeta: childMeta(camp.Name, ph.Name, city.Namespace, ChildName(camp.Name, ph.Name, city.Name), city.Name),
			Spec: flycheckv1.ScreeningJobSpec{
				CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name},
				CityCode:    city.Code,
				DataWindow:  camp.Spec.DataWindow,
				Source:      *source.DeepCopy(),
				Output:      output,
				RuleSets:    ph.Screening.RuleSets,
				Shards:      ph.Screening.Shards,
				Resources:   ph.Screening.Resources,
			},
		}
		if err := r.createChild(ctx, camp, sj, CampaignReasonScreeningJobCreated,
			fmt.Sprintf("Created ScreeningJob %s/%s for %s (%s)", sj.Namespace, sj.Name, city.Name, city.Code)); err != nil {
			return err
		}
	}
	return nil
}

// createRecheckSamples draws one sample per city in the city's namespace,
// from the city's latest screening before the phase, else its roster. The
// seed scope is "<phase>/<city code>", so a later recheck (巩固复查) of the
// same frame draws anew while a re-created sample draws the same.
//
// Each city draws on its own, so the province-wide minimum (Jiangsu: ≥26)
// cannot be topped up across cities; it is split evenly instead, each city
// drawing at least ceil(minTotal / cities). That meets the province minimum
// whenever every city can meet its share, and a city that cannot reports
// the shortfall in its own sample.
func (r *CampaignReconciler) createRecheckSamples(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase) error {
	perCity := *ph.Sampling
	cities := int32(len(camp.Spec.Cities))
	perCity.MinTotal = (ph.Sampling.MinTotal + cities - 1) / cities
	for _, city := range camp.Spec.Cities {
		is := NewPhaseSample(PhaseSample{Campaign: camp, Phase: ph.Name, Sampling: perCity,
			Name: ChildName(camp.Name, ph.Name, city.Name), Namespace: city.Namespace, City: city.Name,
			Scope: ph.Name + "/" + city.Code, Frames: []flycheckv1.FrameSource{cityFrameSource(camp, ph, city)}})
		if err := r.createChild(ctx, camp, is, CampaignReasonInspectionSampleCreated,
			fmt.Sprintf("Created recheck InspectionSample %s/%s for %s", is.Namespace, is.Name, city.Name)); err != nil {
			return err
		}
	}
	return nil
}

// createFlyCheckSample draws one province-wide sample in the province
// namespace, out of the city bureaus' sight. Its frames are copies of the
// cities' frames, made by copyFlyCheckFrames as they become ready.
func (r *CampaignReconciler) createFlyCheckSample(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase) error {
	frames := make([]flycheckv1.FrameSource, 0, len(camp.Spec.Cities))
	for _, city := range camp.Spec.Cities {
		frames = append(frames, flycheckv1.FrameSource{ConfigMap: FlyCheckFrameCopyName(camp.Name, ph.Name, city.Name)})
	}
	is := NewPhaseSample(PhaseSample{Campaign: camp, Phase: ph.Name, Sampling: *ph.Sampling,
		Name: FlyCheckSampleName(camp.Name, ph.Name), Namespace: camp.Spec.ProvinceNamespace, Scope: ph.Name + "/" + ScopeProvince, Frames: frames})
	return r.createChild(ctx, camp, is, CampaignReasonInspectionSampleCreated,
		fmt.Sprintf("Created fly-check InspectionSample %s/%s over %d cities", is.Namespace, is.Name, len(frames)))
}

// copyFlyCheckFrames copies each city's frame, once ready, into the
// province namespace, where the fly-check sample reads it. Once the sample
// has drawn there is nothing left to copy, and no reads are made.
func (r *CampaignReconciler) copyFlyCheckFrames(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase) error {
	var sample flycheckv1.InspectionSample
	err := r.Get(ctx, types.NamespacedName{Namespace: camp.Spec.ProvinceNamespace, Name: FlyCheckSampleName(camp.Name, ph.Name)}, &sample)
	if err == nil && sample.Status.DrawnAt != nil {
		return nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	for _, city := range camp.Spec.Cities {
		name := FlyCheckFrameCopyName(camp.Name, ph.Name, city.Name)
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: camp.Spec.ProvinceNamespace, Name: name}, &metav1.PartialObjectMetadata{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}})
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		src, ok, err := r.readyCityFrame(ctx, camp, ph, city)
		if err != nil || !ok {
			return err
		}
		cp := &corev1.ConfigMap{
			ObjectMeta: childMeta(camp.Name, ph.Name, camp.Spec.ProvinceNamespace, name, city.Name),
			Immutable:  ptr.To(true),
		}
		// The frame as the city's ConfigMap holds it: gzip in binaryData
		// (a ScreeningJob's frame) or plain in data (a roster).
		if b, ok := src.BinaryData[flycheckv1.FrameKey]; ok {
			cp.BinaryData = map[string][]byte{flycheckv1.FrameKey: b}
		} else {
			cp.Data = map[string]string{flycheckv1.FrameKey: src.Data[flycheckv1.FrameKey]}
		}
		if err := r.createChild(ctx, camp, cp, CampaignReasonFrameCopied,
			fmt.Sprintf("Copied the frame of %s (%s/%s) for the fly-check", city.Name, src.Namespace, src.Name)); err != nil {
			return err
		}
	}
	return nil
}

// readyCityFrame returns the city's frame ConfigMap once it exists: the
// frame of its ScreeningJob when that has succeeded, or its roster.
func (r *CampaignReconciler) readyCityFrame(ctx context.Context, camp *flycheckv1.Campaign, ph *flycheckv1.Phase, city flycheckv1.City) (*corev1.ConfigMap, bool, error) {
	src := cityFrameSource(camp, ph, city)
	name := src.ConfigMap
	if src.ScreeningJob != "" {
		var sj flycheckv1.ScreeningJob
		err := r.Get(ctx, types.NamespacedName{Namespace: city.Namespace, Name: src.ScreeningJob}, &sj)
		if apierrors.IsNotFound(err) || (err == nil && sj.Status.FrameConfigMap == "") {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		name = sj.Status.FrameConfigMap
	}
	var cm corev1.ConfigMap
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: city.Namespace, Name: name}, &cm)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	return &cm, err == nil, err
}

// cityFrameSource is where a sampling phase finds a city's frame: the
// ScreeningJob of the latest screening phase that starts no later than the
// sampling phase, else the campaign's roster ConfigMap.
func cityFrameSource(camp *flycheckv1.Campaign, ph *flycheckv1.Phase, city flycheckv1.City) flycheckv1.FrameSource {
	var best *flycheckv1.Phase
	for i := range camp.Spec.Phases {
		p := &camp.Spec.Phases[i]
		if p.Screening == nil || !startsNoLater(p, ph) {
			continue
		}
		if best == nil || startsNoLater(best, p) {
			best = p
		}
	}
	if best == nil {
		return flycheckv1.FrameSource{ConfigMap: camp.Spec.Roster}
	}
	return flycheckv1.FrameSource{ScreeningJob: ChildName(camp.Name, best.Name, city.Name)}
}

// startsNoLater compares phase starts by their text, which orders dates and
// same-zone date-times correctly; mixing forms compares by the date part.
func startsNoLater(a, b *flycheckv1.Phase) bool {
	as, bs := string(a.Start), string(b.Start)
	if len(as) != len(bs) {
		as, bs = as[:10], bs[:10]
	}
	return as <= bs
}

// createChild creates obj owned by the campaign (deleting the campaign
// deletes it) and records an event at once: the object exists whatever
// happens to this reconcile's status write. If it exists already and is
// ours, a previous reconcile made it; if someone else's, the name is taken
// and the campaign says so.
func (r *CampaignReconciler) createChild(ctx context.Context, camp *flycheckv1.Campaign, obj client.Object, reason, msg string) error {
	if err := controllerutil.SetControllerReference(camp, obj, r.Scheme()); err != nil {
		return err
	}
	err := r.Create(ctx, obj)
	if err == nil {
		emit(ctx, r.Recorder, camp, note{corev1.EventTypeNormal, reason, "Create/" + obj.GetNamespace() + "/" + obj.GetName(), msg})
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	existing := &metav1.PartialObjectMetadata{}
	existing.SetGroupVersionKind(mustGVK(r.Scheme(), obj))
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return err
	}
	if metav1.IsControlledBy(existing, camp) {
		return nil
	}
	return &stallError{CampaignReasonChildNameTaken, fmt.Sprintf("%s/%s exists and does not belong to this campaign", obj.GetNamespace(), obj.GetName())}
}

func mustGVK(scheme *runtime.Scheme, obj client.Object) schema.GroupVersionKind {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		panic(err) // every kind a campaign creates is in the operator's scheme
	}
	return gvk
}

// setCityCounts fills the per-city counts from the campaign's children:
// screening figures from the latest screening job of each city, sample
// counts from the city's recheck, case counts and sums from its cases
// (campaign_cases.go), tip-off counts (campaign_tipoffs.go). Fly-check
// samples are not counted here: the campaign is readable by the cities,
// and fly-checks are unannounced.
func (r *CampaignReconciler) setCityCounts(ctx context.Context, camp *flycheckv1.Campaign, status *flycheckv1.CampaignStatus,
	byCity map[string][]*flycheckv1.InspectionCase) error {
	sel := client.MatchingLabels{flycheckv1.LabelCampaign: camp.Name}
	var sjs flycheckv1.ScreeningJobList
	if err := r.List(ctx, &sjs, sel); err != nil {
		return err
	}
	var samples flycheckv1.InspectionSampleList
	if err := r.List(ctx, &samples, sel); err != nil {
		return err
	}
	order := map[string]int{}
	for i, p := range camp.Spec.Phases {
		order[p.Name] = i
	}
	tallies, err := caseTallies(byCity)
	if err != nil {
		return err
	}
	tipOffs, err := r.tipOffTallies(ctx, camp)
	if err != nil {
		return err
	}
	for i := range status.Cities {
		row := flycheckv1.CityStatus{Name: status.Cities[i].Name}
		latest := -1
		for _, sj := range sjs.Items {
			if sj.Labels[flycheckv1.LabelCity] != row.Name || !metav1.IsControlledBy(&sj, camp) {
				continue
			}
			if p := order[sj.Labels[flycheckv1.LabelPhase]]; p > latest {
				latest = p
				row.Institutions = sj.Status.Institutions.Total
				row.ScreenedLines = sj.Status.LinesScanned
				row.FlaggedInstitutions = sj.Status.Institutions.Flagged
				row.RulesSkipped = int32(len(sj.Status.RulesSkipped))
			}
		}
		latest = -1
		for _, is := range samples.Items {
			if is.Labels[flycheckv1.LabelCity] != row.Name || is.Spec.Purpose != flycheckv1.PurposeRecheck ||
				is.Status.Counts == nil || !metav1.IsControlledBy(&is, camp) {
				continue
			}
			if p := order[is.Labels[flycheckv1.LabelPhase]]; p > latest {
				latest = p
				row.Sampled = is.Status.Counts.Selected
				row.TertiarySampled = is.Status.Counts.Tertiary
			}
		}
		setCaseCounts(&row, tallies[row.Name])
		row.TipOffs, row.TipOffRewardsPaid = tipOffs[row.Name].tipOffs, tipOffs[row.Name].rewardsPaid
		status.Cities[i] = row
	}
	return nil
}
