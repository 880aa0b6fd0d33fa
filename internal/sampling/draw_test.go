package sampling

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func reasons(picks []Pick) []string {
	out := make([]string, len(picks))
	for i, p := range picks {
		out[i] = p.Code + ":" + string(p.Reason)
	}
	return out
}

// byKey returns codes sorted by Key under seed: the random order.
func byKey(seed string, codes ...string) []string {
	out := slices.Clone(codes)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(Key(seed, a), Key(seed, b)) })
	return out
}

func TestDrawCitySteps(t *testing.T) {
	// One city of 25: n = max(ceil(10% × 25) = 3, 2) = 3. One tertiary
	// hospital only: a shortfall, it is the TertiaryQuota pick. Risk share
	// floor(50% × 2) = 1: the riskiest remaining (R1, 9.0). Then 1 random.
	frame := []Institution{{Code: "T1", CityCode: "C", Level: 3, Risk: 1}}
	frame = append(frame, Institution{Code: "R1", CityCode: "C", Level: 2, Risk: 9_000_000})
	frame = append(frame, Institution{Code: "R2", CityCode: "C", Level: 2, Risk: 8_000_000})
	rest := []string{"R2"} // what the random fill chooses from
	for i := range 22 {
		code := fmt.Sprintf("Z%02d", i)
		rest = append(rest, code)
		frame = append(frame, Institution{Code: code, CityCode: "C", Level: 1})
	}
	p := Policy{MinPercent: 10, MinTertiaryPerCity: 2, RiskBasedPercent: 50}
	res := mustDraw(t, frame, p, "s")
	firstRandom := byKey("s", rest...)[0]
	want := []string{"T1:TertiaryQuota", "R1:Risk", firstRandom + ":Random"}
	if got := reasons(res.Selected); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if len(res.Shortfalls) != 1 || res.Shortfalls[0].Kind != ShortfallTertiary ||
		res.Shortfalls[0].Wanted != 2 || res.Shortfalls[0].Available != 1 {
		t.Fatalf("shortfalls = %+v", res.Shortfalls)
	}
	if cc := res.Counts.ByCity[0]; cc.Quota != 3 || cc.Institutions != 25 || cc.TertiaryInFrame != 1 {
		t.Fatalf("city counts = %+v", cc)
	}
}

func TestDrawRiskTiesByKey(t *testing.T) {
	// Four institutions with the same top risk; riskBasedPercent 100 and
	// n = 2: the two with the smallest keys win.
	frame := []Institution{
		{Code: "A", CityCode: "C", Risk: 5}, {Code: "B", CityCode: "C", Risk: 5},
		{Code: "D", CityCode: "C", Risk: 5}, {Code: "E", CityCode: "C", Risk: 5},
		{Code: "L", CityCode: "C", Risk: 4},
	}
	p := Policy{MinPercent: 40, RiskBasedPercent: 100}
	for _, seed := range []string{"x", "y", "z"} {
		res := mustDraw(t, frame, p, seed)
		order := byKey(seed, "A", "B", "D", "E")
		want := []string{order[0] + ":Risk", order[1] + ":Risk"}
		if got := reasons(res.Selected); !slices.Equal(got, want) {
			t.Errorf("seed %s: got %v, want %v", seed, got, want)
		}
	}
}

func TestDrawRiskShareShortOfCandidates(t *testing.T) {
	// n = 3, riskBasedPercent 100, but only one institution has risk > 0:
	// it is the Risk pick and the random fill takes the other two.
	frame := []Institution{
		{Code: "A", CityCode: "C", Risk: 1}, {Code: "B", CityCode: "C"},
		{Code: "D", CityCode: "C"}, {Code: "E", CityCode: "C"},
	}
	res := mustDraw(t, frame, Policy{MinPercent: 75, RiskBasedPercent: 100}, "s")
	order := byKey("s", "B", "D", "E")
	want := []string{"A:Risk", order[0] + ":Random", order[1] + ":Random"}
	if got := reasons(res.Selected); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestDrawTopUpAcrossCities(t *testing.T) {
	// Two cities with quota 0 (minPercent 0, no tertiary minimum), so the
	// whole sample is the top-up: need = 5, risk part floor(40% × 5) = 2 in
	// risk order across both cities (9 in city 2, then 7 in city 1), then 3
	// in random order across both cities.
	frame := []Institution{
		{Code: "A1", CityCode: "1", Risk: 7}, {Code: "A2", CityCode: "1", Risk: 3},
		{Code: "A3", CityCode: "1"}, {Code: "A4", CityCode: "1"},
		{Code: "B1", CityCode: "2", Risk: 9}, {Code: "B2", CityCode: "2"},
		{Code: "B3", CityCode: "2"}, {Code: "B4", CityCode: "2"},
	}
	res := mustDraw(t, frame, Policy{MinTotal: 5, RiskBasedPercent: 40}, "s")
	order := byKey("s", "A2", "A3", "A4", "B2", "B3", "B4")
	want := []string{"B1:MinimumTopUp", "A1:MinimumTopUp",
		order[0] + ":MinimumTopUp", order[1] + ":MinimumTopUp", order[2] + ":MinimumTopUp"}
	if got := reasons(res.Selected); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if len(res.Shortfalls) != 0 {
		t.Fatalf("unexpected shortfalls %+v", res.Shortfalls)
	}
}

func TestDrawOrderCitiesByteOrderThenTopUp(t *testing.T) {
	// City "10" sorts before "9" in byte order. Top-up picks come last even
	// when they belong to the first city.
	frame := []Institution{
		{Code: "N1", CityCode: "9", Level: 3}, {Code: "N2", CityCode: "9"},
		{Code: "T1", CityCode: "10", Level: 3}, {Code: "T2", CityCode: "10"},
	}
	res := mustDraw(t, frame, Policy{MinTertiaryPerCity: 1, MinTotal: 4}, "s")
	got := reasons(res.Selected)
	if got[0] != "T1:TertiaryQuota" || got[1] != "N1:TertiaryQuota" {
		t.Fatalf("cities not in byte order: %v", got)
	}
	if got[2] != byKey("s", "N2", "T2")[0]+":MinimumTopUp" || len(got) != 4 {
		t.Fatalf("top-up not last in key order: %v", got)
	}
}

func TestDrawSmallFrameShortfalls(t *testing.T) {
	frame := []Institution{{Code: "A", CityCode: "1", Level: 1}, {Code: "B", CityCode: "2", Level: 3, Risk: 2}}
	res := mustDraw(t, frame, Policy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 30, RiskBasedPercent: 50}, "s")
	if len(res.Selected) != 2 {
		t.Fatalf("want the whole frame, got %v", reasons(res.Selected))
	}
	kinds := map[string]bool{}
	for _, s := range res.Shortfalls {
		kinds[string(s.Kind)+"/"+s.CityCode] = true
		if s.Message == "" {
			t.Errorf("shortfall %+v has no message", s)
		}
	}
	for _, k := range []string{"CityBelowQuota/1", "TertiaryBelowMinimum/1", "CityBelowQuota/2", "TertiaryBelowMinimum/2", "FrameBelowMinTotal/"} {
		if !kinds[k] {
			t.Errorf("missing shortfall %s in %+v", k, res.Shortfalls)
		}
	}
}

func TestDrawEmptyFrame(t *testing.T) {
	res := mustDraw(t, nil, Policy{MinTotal: 3}, "s")
	if len(res.Selected) != 0 || len(res.Shortfalls) != 1 || res.Shortfalls[0].Kind != ShortfallFrame {
		t.Fatalf("got %+v", res)
	}
	// An empty selection is a JSON list, not null, in status.
	b, _ := json.Marshal(res)
	if !strings.Contains(string(b), `"selected":[]`) {
		t.Fatalf("empty selection marshals as %s", b)
	}
}

func TestDrawRejectsInvalidInput(t *testing.T) {
	ok := []Institution{{Code: "A", CityCode: "1"}}
	cases := []struct {
		name  string
		frame []Institution
		p     Policy
		seed  string
		want  string
	}{
		{"minPercent", ok, Policy{MinPercent: 101}, "s", "minPercent 101"},
		{"riskBased", ok, Policy{RiskBasedPercent: -1}, "s", "riskBasedPercent -1"},
		{"minTotal", ok, Policy{MinTotal: -1}, "s", "minTotal -1"},
		{"minTertiary", ok, Policy{MinTertiaryPerCity: -2}, "s", "minTertiaryPerCity -2"},
		{"seed", ok, Policy{}, "", "seed is empty"},
		{"duplicate", []Institution{{Code: "A", CityCode: "1"}, {Code: "A", CityCode: "1"}}, Policy{}, "s", "duplicate"},
		{"negative risk", []Institution{{Code: "A", CityCode: "1", Risk: -1}}, Policy{}, "s", "negative"},
	}
	for _, tc := range cases {
		if _, err := Draw(tc.frame, tc.p, tc.seed); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// All policy errors at once.
	err := Policy{MinPercent: -1, RiskBasedPercent: 200}.Validate()
	if err == nil || !strings.Contains(err.Error(), "minPercent") || !strings.Contains(err.Error(), "riskBasedPercent") {
		t.Errorf("Validate reports %v", err)
	}
}

func TestPercentArithmetic(t *testing.T) {
	for pct := 0; pct <= 100; pct++ {
		for n := 0; n < 1000; n++ {
			if got, want := percentCeil(pct, n), (pct*n+99)/100; got != want {
				t.Fatalf("percentCeil(%d, %d) = %d, want %d", pct, n, got, want)
			}
			if got, want := percentFloor(pct, n), pct*n/100; got != want {
				t.Fatalf("percentFloor(%d, %d) = %d, want %d", pct, n, got, want)
			}
		}
	}
	// No overflow for huge minTotal.
	const huge = 1 << 62
	if got := percentFloor(100, huge); got != huge {
		t.Fatalf("percentFloor(100, 2^62) = %d", got)
	}
}
