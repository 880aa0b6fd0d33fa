package sampling

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseRisk(t *testing.T) {
	good := []struct {
		in   string
		want Risk
		str  string
	}{
		{"", 0, "0.000000"},
		{"0", 0, "0.000000"},
		{"12.5", 12_500_000, "12.500000"},
		{"007.000001", 7_000_001, "7.000001"},
		{"3.250000", 3_250_000, "3.250000"},
		{"1.5000000000", 1_500_000, "1.500000"}, // extra zeros are exact
		{"999999999999.999999", 999_999_999_999_999_999, "999999999999.999999"},
	}
	for _, tc := range good {
		got, err := ParseRisk(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRisk(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("ParseRisk(%q).String() = %q, want %q", tc.in, got.String(), tc.str)
		}
	}
	bad := map[string]string{
		"-1":            "negative",
		"-0.5":          "negative",
		"0.0000001":     "more than 6 decimal places",
		"1e3":           "want digits",
		"+1":            "want digits",
		" 1":            "want digits",
		".5":            "want digits",
		"5.":            "want digits",
		"1,5":           "want digits",
		"1234567890123": "more than 12 digits",
		"NaN":           "want digits",
		"12.5.1":        "want digits",
		"１２":            "want digits", // full-width digits
	}
	for in, wantErr := range bad {
		_, err := ParseRisk(in)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseRisk(%q) error = %v, want one containing %q", in, err, wantErr)
		}
	}
}

func TestRiskJSON(t *testing.T) {
	b, err := json.Marshal(Risk(12_500_000))
	if err != nil || string(b) != `"12.500000"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	for _, in := range []string{`"12.5"`, `12.5`, `"12.500000"`, `12.500000`} {
		var r Risk
		if err := json.Unmarshal([]byte(in), &r); err != nil || r != 12_500_000 {
			t.Errorf("Unmarshal(%s) = %d, %v", in, r, err)
		}
	}
	var r Risk
	if err := json.Unmarshal([]byte(`-1`), &r); err == nil {
		t.Error("Unmarshal(-1) accepted a negative risk")
	}
}
