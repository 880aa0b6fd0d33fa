package sampling

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	frame := randomFrame(rand.New(rand.NewPCG(5, 5)), 4, 30)
	p := Policy{MinPercent: 20, MinTertiaryPerCity: 2, MinTotal: 20, RiskBasedPercent: 40}
	const seed = "verify-seed"
	res := mustDraw(t, frame, p, seed)
	if len(res.Selected) < 4 {
		t.Fatalf("test frame too small: %d picks", len(res.Selected))
	}

	v, err := Verify(frame, p, seed, res.Selected)
	if err != nil || !v.Match || v.Difference != nil {
		t.Fatalf("untouched selection: %+v, %v", v.Difference, err)
	}

	notSelected := ""
	for _, in := range frame {
		if !slices.ContainsFunc(res.Selected, func(p Pick) bool { return p.Code == in.Code }) {
			notSelected = in.Code
			break
		}
	}

	tamper := []struct {
		name   string
		change func([]Pick) []Pick
		want   string
	}{
		{"swapped institution", func(s []Pick) []Pick { s[2].Code = notSelected; return s },
			`entry 3: code is "` + res.Selected[2].Code + `" in the draw but "` + notSelected + `" in the record`},
		{"reordered", func(s []Pick) []Pick { s[0], s[1] = s[1], s[0]; return s },
			"it puts " + res.Selected[1].Code + " at entry 2"},
		{"reason", func(s []Pick) []Pick { s[1].Reason = ReasonRisk; return s }, "entry 2: reason"},
		{"risk score", func(s []Pick) []Pick { s[3].RiskScore++; return s }, "entry 4: riskScore"},
		{"name", func(s []Pick) []Pick { s[0].Name = "x"; return s }, "entry 1: name"},
		{"level", func(s []Pick) []Pick { s[0].Level = 9; return s }, "entry 1: level"},
		{"dropped last", func(s []Pick) []Pick { return s[:len(s)-1] }, "the record has no entry there"},
		{"extra", func(s []Pick) []Pick { return append(s, Pick{Code: "ZZ", Reason: ReasonRandom}) }, "ZZ (Random), the draw selects nothing more"},
		{"empty", func(s []Pick) []Pick { return nil }, "entry 1: the draw selects " + res.Selected[0].Code},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.change(slices.Clone(res.Selected))
			v, err := Verify(frame, p, seed, rec)
			if err != nil {
				t.Fatal(err)
			}
			if v.Match || v.Difference == nil {
				t.Fatal("tampered selection verified as a match")
			}
			if msg := v.Difference.String(); !strings.Contains(msg, tc.want) {
				t.Fatalf("difference %q, want it to contain %q", msg, tc.want)
			}
		})
	}

	// A different seed or policy is a difference too.
	if v, _ := Verify(frame, p, "other-seed", res.Selected); v.Match {
		t.Error("verified under another seed")
	}
	p2 := p
	p2.MinTotal++
	if v, _ := Verify(frame, p2, seed, res.Selected); v.Match {
		t.Error("verified under another policy")
	}
}

func TestParseSelectionForms(t *testing.T) {
	frame := randomFrame(rand.New(rand.NewPCG(6, 6)), 3, 20)
	res := mustDraw(t, frame, Policy{MinPercent: 30, MinTertiaryPerCity: 1, MinTotal: 10, RiskBasedPercent: 50}, "sel")
	list, _ := json.Marshal(res.Selected)
	whole, _ := json.Marshal(res)
	isample, _ := json.Marshal(map[string]any{
		"apiVersion": "flycheck.medfund.io/v1alpha1", "kind": "InspectionSample",
		"metadata": map[string]any{"name": "x"},
		"spec":     map[string]any{"purpose": "Recheck", "policy": res.Policy},
		"status":   map[string]any{"seed": "sel", "algorithm": Algorithm, "frame": map[string]any{"digest": res.Frame.Digest}, "selected": res.Selected},
	})
	var csvBuf bytes.Buffer
	if err := WriteSelectionCSV(&csvBuf, res.Selected); err != nil {
		t.Fatal(err)
	}
	// A hand-written list with numeric risk scores and without trailing zeros.
	var hand []map[string]any
	for _, p := range res.Selected {
		hand = append(hand, map[string]any{"code": p.Code, "name": p.Name, "cityCode": p.CityCode,
			"level": p.Level, "ownership": p.Ownership, "reason": p.Reason, "riskScore": json.Number(strings.TrimRight(strings.TrimRight(p.RiskScore.String(), "0"), "."))})
	}
	handJSON, _ := json.Marshal(hand)

	for name, data := range map[string][]byte{
		"list": list, "draw": whole, "isample": isample, "csv": csvBuf.Bytes(),
		"hand": handJSON, "bom+spaces": append([]byte("\xef\xbb\xbf \n"), list...),
	} {
		rec, err := ParseSelection(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(rec.Selected, res.Selected) {
			t.Errorf("%s: selection changed in the round trip", name)
		}
		if name == "draw" || name == "isample" {
			if rec.Seed != "sel" || rec.Digest != res.Frame.Digest || rec.Algorithm != Algorithm ||
				rec.Policy == nil || *rec.Policy != res.Policy {
				t.Errorf("%s: provenance %+v", name, rec)
			}
		} else if rec.Policy != nil || rec.Seed != "" {
			t.Errorf("%s: provenance invented: %+v", name, rec)
		}
	}

	for name, bad := range map[string]string{
		"empty":         "  ",
		"no selected":   `{"status": {"seed": "x"}}`,
		"kubectl list":  `{"kind": "List", "items": []}`,
		"bad csv head":  "code,city\nA,1\n",
		"bad csv level": strings.Join(SelectionHeader, ",") + "\nA,n,1,x,public,Random,0\n",
		"bad json":      `[{"code": 1}]`,
	} {
		if _, err := ParseSelection([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
