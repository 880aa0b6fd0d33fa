package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/tipoffs"
)

// The Campaign's tip-off roll-up: each city's row counts the tip-offs that
// name the campaign, received in the city's namespace, and the rewards
// paid. Counts only: every city can read the Campaign, and what a tip-off
// says (let alone who made it) is for the receiving bureau. A tip-off's
// case, opened in the campaign, counts with the city's other cases.

// tipOffCounts are a city's tip-off figures.
type tipOffCounts struct{ tipOffs, rewardsPaid int32 }

// tipOffTallies counts the campaign's tip-offs per city.
func (r *CampaignReconciler) tipOffTallies(ctx context.Context, camp *flycheckv1.Campaign) (map[string]tipOffCounts, error) {
	var list flycheckv1.TipOffList
	if err := r.List(ctx, &list, client.MatchingFields{tipOffCampaignField: camp.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	cityOf := cityNamespaces(camp)
	out := map[string]tipOffCounts{}
	for i := range list.Items {
		to := &list.Items[i]
		city, ok := cityOf[to.Namespace]
		if !ok {
			continue
		}
		c := out[city]
		c.tipOffs++
		if rewardPaid(to) {
			c.rewardsPaid++
		}
		out[city] = c
	}
	return out, nil
}

// tipOffRollupHandler wakes a tip-off's Campaign when the tip-off appears,
// goes, or has its reward paid, after the pacer's delay.
func tipOffRollupHandler(pacer *rollupPacer) handler.TypedEventHandler[client.Object, reconcile.Request] {
	return rollupHandler(pacer, func(to *flycheckv1.TipOff) *flycheckv1.CampaignReference { return to.Spec.CampaignRef },
		func(o, n *flycheckv1.TipOff) bool { return rewardPaid(o) != rewardPaid(n) })
}

// rewardPaid: a reward recorded as paid counts only when one was due (a
// paid date on a tip-off whose reward is None is a clerical slip, not a
// reward).
func rewardPaid(to *flycheckv1.TipOff) bool {
	rw := to.Status.Reward
	return to.Spec.RewardPaidAt != "" && rw != nil &&
		(rw.State == flycheckv1.RewardState(tipoffs.Monetary) || rw.State == flycheckv1.RewardState(tipoffs.NonMonetary))
}
