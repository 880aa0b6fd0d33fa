package sampling

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-draw.json from the current code")

// The golden draw: docs/sampling.md works through exactly this frame,
// policy and seed. Any change to the algorithm that alters a selection shows
// up here; such a change needs a new algorithm name, not a new golden file.
var (
	goldenPolicy = Policy{MinPercent: 50, MinTertiaryPerCity: 2, MinTotal: 9, RiskBasedPercent: 50}
	goldenSeed   = "golden-seed-2020"
)

func TestGoldenDraw(t *testing.T) {
	f, err := os.Open("testdata/golden-frame.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frame, err := ReadFrame(f)
	if err != nil {
		t.Fatal(err)
	}
	res := mustDraw(t, frame, goldenPolicy, goldenSeed)
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const path = "testdata/golden-draw.json"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the golden draw changed; if that is intended it is a new algorithm version.\ngot:\n%s", got)
	}
}
