package sampling

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDrawProvince: a province of 13 cities × 5 000 institutions (the
// scale target of DESIGN §7), Jiangsu recheck policy with a risk share.
func BenchmarkDrawProvince(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	var frame []Institution
	for _, c := range jiangsuCities {
		for i := range 5000 {
			frame = append(frame, Institution{
				Code: c.code + "-" + string(rune('A'+i%26)) + itoa(i), CityCode: c.code,
				Level: rng.IntN(4), Risk: Risk(rng.IntN(3) * rng.IntN(10_000_000)),
			})
		}
	}
	p := Policy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 26, RiskBasedPercent: 30}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Draw(frame, p, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(buf[n:])
		}
	}
}
