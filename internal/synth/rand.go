package synth

import "math/rand/v2"

// Everything random in the generator derives from the seed through mix and
// hashString, never from a shared stream, so that one institution's claims do
// not depend on how many rows another one produced. That is what makes a
// per-city extract byte-identical to the same city inside the province run.

// mix is the SplitMix64 finaliser applied to a combination of a and b.
func mix(a, b uint64) uint64 {
	z := a ^ (b + 0x9e3779b97f4a7c15 + (a << 6) + (a >> 2))
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// hashString is FNV-1a (64 bit).
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// newRand returns a PCG stream for one purpose (e.g. one institution).
func newRand(seed uint64, parts ...uint64) *rand.Rand {
	h := seed
	for _, p := range parts {
		h = mix(h, p)
	}
	return rand.New(rand.NewPCG(h, mix(h, 0x5eed)))
}

// between returns a uniform integer in [lo, hi].
func between(r randSource, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
