package screening

import (
	"reflect"
	"testing"
)

func TestShardResultRoundTrip(t *testing.T) {
	in := ShardResult{
		Summary: &Summary{Institutions: []InstitutionSummary{{Code: "H32010000001", Name: "南京市第一医院", CityCode: "320100",
			Level: 3, Ownership: "public", Type: "hospital", Lines: 12, Findings: 2,
			FindingsByCategory: map[string]int64{"DuplicateCharge": 2}, AmountAtRisk: "30.00", RiskScore: "0.123456", ScreenedAmount: "100.00"}}},
		Stats: &Stats{Shard: 1, Shards: 4, LinesRead: 12, FindingsByCat: map[string]int64{"DuplicateCharge": 2}},
	}
	data, err := EncodeShardResult(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeShardResult(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.Summary, out.Summary) || out.Stats.Shard != 1 || out.Stats.LinesRead != 12 {
		t.Errorf("round trip changed the result: %+v", out)
	}
	if _, err := DecodeShardResult([]byte("not gzip")); err == nil {
		t.Error("garbage decoded without error")
	}
}
