package sampling

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// jiangsuCities are the 13 prefecture-level cities (设区市) of Jiangsu with
// their division codes.
var jiangsuCities = []struct{ code, name string }{
	{"320100", "南京"}, {"320200", "无锡"}, {"320300", "徐州"}, {"320400", "常州"},
	{"320500", "苏州"}, {"320600", "南通"}, {"320700", "连云港"}, {"320800", "淮安"},
	{"320900", "盐城"}, {"321000", "扬州"}, {"321100", "镇江"}, {"321200", "泰州"},
	{"321300", "宿迁"},
}

// jiangsuFrame is a 13-city frame of 60..400 institutions per city, 2..12 of
// them tertiary, about a third with a risk score.
func jiangsuFrame(rng *rand.Rand) []Institution {
	var frame []Institution
	for _, c := range jiangsuCities {
		size := 60 + rng.IntN(341)
		tertiary := 2 + rng.IntN(11)
		for i := range size {
			in := Institution{
				Code: fmt.Sprintf("H%s%04d", c.code, i), CityCode: c.code,
				Name: fmt.Sprintf("%s第%d医疗机构", c.name, i), Level: rng.IntN(3),
				Ownership: "public", Type: "hospital",
			}
			if i < tertiary {
				in.Level = 3
			}
			if rng.IntN(3) == 0 {
				in.Risk = Risk(rng.IntN(100_000_000))
			}
			frame = append(frame, in)
		}
	}
	return frame
}

// TestJiangsuPolicies: the Jiangsu 2020 campaign's two draws on a 13-city
// frame meet every minimum with no shortfall — recheck (抽查复查) ≥10 % and ≥2
// tertiary per city, ≥26 in all; fly-check (飞行检查) ≥2 tertiary per city,
// ≥30 in all.
func TestJiangsuPolicies(t *testing.T) {
	frame := jiangsuFrame(rand.New(rand.NewPCG(2020, 32)))
	for _, tc := range []struct {
		name string
		p    Policy
	}{
		{"Recheck", Policy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 26, RiskBasedPercent: 30}},
		{"FlyCheck", Policy{MinPercent: 0, MinTertiaryPerCity: 2, MinTotal: 30, RiskBasedPercent: 50}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := mustDraw(t, frame, tc.p, DeriveSeed([]byte("test-key"), "jiangsu-2020", tc.name, "province"))
			if len(res.Shortfalls) != 0 {
				t.Fatalf("shortfalls: %+v", res.Shortfalls)
			}
			if len(res.Counts.ByCity) != 13 {
				t.Fatalf("%d cities in the counts", len(res.Counts.ByCity))
			}
			for _, cc := range res.Counts.ByCity {
				minCity := (tc.p.MinPercent*cc.Institutions + 99) / 100
				if cc.Selected < minCity || cc.Tertiary < 2 {
					t.Errorf("city %s: %d of %d selected (want ≥ %d), %d tertiary (want ≥ 2)",
						cc.CityCode, cc.Selected, cc.Institutions, minCity, cc.Tertiary)
				}
				t.Logf("city %s: %3d institutions, %2d tertiary → %2d selected, %d tertiary",
					cc.CityCode, cc.Institutions, cc.TertiaryInFrame, cc.Selected, cc.Tertiary)
			}
			if res.Counts.Selected < tc.p.MinTotal {
				t.Errorf("%d selected in all, want ≥ %d", res.Counts.Selected, tc.p.MinTotal)
			}
			t.Logf("%s: %d selected, %d tertiary, by reason %v", tc.name, res.Counts.Selected, res.Counts.Tertiary, res.Counts.ByReason)
		})
	}
}
