package tipoffs

import (
	"fmt"
	"strings"

	"github.com/medfund/flycheck-operator/internal/cases"
)

// Reward rules (举报奖励). Luohe 2020 (《漯河市欺诈骗取医疗保障基金行为举报奖励
// 暂行办法实施细则（试行）》, as the bureau explained it): 5 % of the amount
// the case confirmed (查实金额), 1 % more when the reporter is a current or
// former insider of a designated institution or retail pharmacy, at most
// ¥100 000, and under ¥200 a non-monetary reward (精神奖励). A reward is
// due only when the tip-off was confirmed and caused or avoided a loss to
// the fund, its main facts were not already known to the bureau, and the
// reporter wants it.

// Rate is a percentage with at most two decimals, in hundredths of a
// percent: "5" is 500, "0.25" is 25. Exact, like Fen.
type Rate int64

// ParseRate reads a percentage string: digits, optionally a point and one
// or two decimals, at most 100. It is written like an amount (Money), in
// hundredths, so it is read like one.
func ParseRate(s string) (Rate, error) {
	f, err := cases.ParseYuan(s)
	if err != nil || f > 100_00 {
		return 0, fmt.Errorf("rate %q: want a percentage from 0 to 100 with at most 2 decimals, e.g. 5 or 0.5", s)
	}
	return Rate(f), nil
}

// String is the percentage without trailing zeros: "5", "6", "5.5", "0.25".
func (r Rate) String() string {
	s := fmt.Sprintf("%d.%02d", r/100, r%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// Of is the share r of amount, rounded down to the fen. The product stays
// well inside int64: amounts have at most 12 integer digits (10^14 fen)
// and rates at most 100_00.
func (r Rate) Of(amount cases.Fen) cases.Fen { return amount * cases.Fen(r) / 100_00 }

// Policy is a bureau's reward rule.
type Policy struct {
	// Rate of the confirmed amount.
	Rate Rate
	// InsiderBonus is added to Rate for an insider.
	InsiderBonus Rate
	// Cap is the largest reward (0: no cap).
	Cap cases.Fen
	// NonMonetaryBelow: a reward under it is non-monetary.
	NonMonetaryBelow cases.Fen
}

// Luohe is Luohe's 2020 rule: 5 %, +1 % for an insider, at most ¥100 000,
// non-monetary under ¥200.
var Luohe = Policy{Rate: 5_00, InsiderBonus: 1_00, Cap: 100_000_00, NonMonetaryBelow: 200_00}

// Verdict is what the investigation found of the tip-off.
type Verdict string

const (
	// VerdictNone: not decided yet.
	VerdictNone         Verdict = ""
	VerdictConfirmed    Verdict = "Confirmed"
	VerdictNotConfirmed Verdict = "NotConfirmed"
)

// Loss is what the reported conduct did to the fund.
type Loss string

const (
	// LossUnknown: not recorded; a confirmed amount above 0 counts as a loss.
	LossUnknown Loss = ""
	LossCaused  Loss = "Caused"
	LossAvoided Loss = "Avoided"
	LossNone    Loss = "None"
)

// RewardState says whether and how the reporter is rewarded.
type RewardState string

const (
	// Pending: nothing rules a reward out yet, and the verdict is not in.
	Pending RewardState = "Pending"
	// None: not eligible; Reasons say why.
	None RewardState = "None"
	// NonMonetary: eligible, but the amount is under the threshold (精神奖励).
	NonMonetary RewardState = "NonMonetary"
	// Monetary: eligible, paid in money.
	Monetary RewardState = "Monetary"
)

// Reason is why a reward is ruled out.
type Reason string

const (
	NotConfirmed Reason = "NotConfirmed"
	NoLoss       Reason = "NoLoss"
	AlreadyKnown Reason = "AlreadyKnown"
	NotWanted    Reason = "NotWanted"
)

// Claim is what the reward depends on.
type Claim struct {
	Verdict Verdict
	Loss    Loss
	// Confirmed is the amount the case confirmed (查实金额).
	Confirmed    cases.Fen
	Insider      bool
	AlreadyKnown bool
	WantsReward  bool
}

// Reward is the outcome.
type Reward struct {
	State RewardState
	// Reasons, in the order NotConfirmed, NoLoss, AlreadyKnown, NotWanted,
	// when State is None.
	Reasons []Reason
	// Rate applied (with the insider bonus).
	Rate Rate
	// Amount: the reward in money when Monetary; the computed amount (under
	// the threshold) when NonMonetary; 0 otherwise.
	Amount cases.Fen
	// Capped: the exact share was more than the cap.
	Capped bool
}

// Compute applies the policy. Whatever is known to rule the reward out
// (already known, not wanted) rules it out before the verdict; otherwise
// the reward is Pending until the verdict is in.
func Compute(p Policy, c Claim) Reward {
	var reasons []Reason
	if c.Verdict == VerdictNotConfirmed {
		reasons = append(reasons, NotConfirmed)
	}
	if c.Verdict != VerdictNone && (c.Loss == LossNone || (c.Loss == LossUnknown && c.Confirmed == 0)) {
		reasons = append(reasons, NoLoss)
	}
	if c.AlreadyKnown {
		reasons = append(reasons, AlreadyKnown)
	}
	if !c.WantsReward {
		reasons = append(reasons, NotWanted)
	}
	if len(reasons) > 0 {
		return Reward{State: None, Reasons: reasons}
	}
	if c.Verdict == VerdictNone {
		return Reward{State: Pending}
	}
	rate := p.Rate
	if c.Insider {
		rate += p.InsiderBonus
	}
	r := Reward{Rate: rate, Amount: rate.Of(c.Confirmed)}
	// Capped compares the exact share, before rounding down: ¥2 000 000.01
	// at 5 % is ¥100 000.0005, over the cap, though it rounds to it.
	if p.Cap > 0 && c.Confirmed*cases.Fen(rate) > p.Cap*100_00 {
		r.Amount, r.Capped = p.Cap, true
	}
	r.State = Monetary
	if r.Amount < p.NonMonetaryBelow {
		r.State = NonMonetary
	}
	return r
}
