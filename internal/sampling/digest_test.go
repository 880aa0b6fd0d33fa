package sampling

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
)

// The tests in this file recompute the byte formats of DESIGN §4.1–4.3 with
// nothing but crypto/sha256 and fmt, deliberately not calling CanonicalRow,
// Risk.String or Key, so that a mistake in those helpers cannot hide itself.

func independentDigest(frame []Institution) string {
	rows := make([]Institution, len(frame))
	copy(rows, frame)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Code < rows[j].Code })
	var all []byte
	for _, in := range rows {
		micro := int64(in.Risk)
		all = fmt.Appendf(all, "%s\t%s\t%d\t%s\t%s\t%d.%06d\n",
			in.Code, in.CityCode, in.Level, in.Ownership, in.Type, micro/1000000, micro%1000000)
	}
	return fmt.Sprintf("%x", sha256.Sum256(all))
}

func TestDigestByteFormat(t *testing.T) {
	// A hand-written case first: the exact bytes are visible here.
	frame := []Institution{
		{Code: "B", CityCode: "320200", Name: "not digested", Level: 2, Ownership: "private", Type: "clinic", Risk: 0},
		{Code: "A", CityCode: "320100", Name: "甲", Level: 3, Ownership: "public", Type: "hospital", Risk: 12_500_000},
	}
	bytes := "A\t320100\t3\tpublic\thospital\t12.500000\nB\t320200\t2\tprivate\tclinic\t0.000000\n"
	want := fmt.Sprintf("%x", sha256.Sum256([]byte(bytes)))
	got, err := Digest(frame)
	if err != nil || got != want {
		t.Fatalf("Digest = %s, %v; want %s", got, err, want)
	}
	// The name is not digested.
	frame[0].Name = "renamed"
	if again, _ := Digest(frame); again != want {
		t.Fatal("renaming an institution changed the digest")
	}
	// Every digested field is.
	for i, mutate := range []func(*Institution){
		func(in *Institution) { in.CityCode = "320300" },
		func(in *Institution) { in.Level = 1 },
		func(in *Institution) { in.Ownership = "public" },
		func(in *Institution) { in.Type = "pharmacy" },
		func(in *Institution) { in.Risk = 1 },
	} {
		f := append([]Institution(nil), frame...)
		mutate(&f[0])
		if d, _ := Digest(f); d == want {
			t.Errorf("mutation %d did not change the digest", i)
		}
	}

	// Then many random frames.
	rng := rand.New(rand.NewPCG(11, 12))
	for range 200 {
		f := randomFrame(rng, 5, 30)
		got, err := Digest(f)
		if err != nil {
			t.Fatal(err)
		}
		if want := independentDigest(f); got != want {
			t.Fatalf("Digest = %s, independent = %s", got, want)
		}
	}
}

func TestDigestRejectsDuplicates(t *testing.T) {
	_, err := Digest([]Institution{{Code: "A", CityCode: "1"}, {Code: "A", CityCode: "2"}})
	if err == nil {
		t.Fatal("Digest accepted a duplicate code")
	}
}

func TestKeyByteFormat(t *testing.T) {
	for _, tc := range []struct{ seed, code string }{
		{"s", "H1"}, {"golden-2020", "320100001"}, {"带中文的种子", "H|2"}, {"", ""},
	} {
		want := fmt.Sprintf("%x", sha256.Sum256([]byte(tc.seed+"|"+tc.code)))
		if got := Key(tc.seed, tc.code); got != want {
			t.Errorf("Key(%q, %q) = %s, want %s", tc.seed, tc.code, got, want)
		}
	}
}

// hmacSHA256 is RFC 2104 written out with crypto/sha256 only.
func hmacSHA256(key, msg []byte) [32]byte {
	const block = 64
	if len(key) > block {
		k := sha256.Sum256(key)
		key = k[:]
	}
	ipad := make([]byte, block)
	opad := make([]byte, block)
	copy(ipad, key)
	copy(opad, key)
	for i := range block {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	inner := sha256.Sum256(append(ipad, msg...))
	return sha256.Sum256(append(opad, inner[:]...))
}

func TestDeriveSeed(t *testing.T) {
	// The hand-written HMAC is right (RFC 4231 test case 2) …
	if got := fmt.Sprintf("%x", hmacSHA256([]byte("Jefe"), []byte("what do ya want for nothing?"))); got != "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Fatalf("hand-written HMAC is wrong: %s", got)
	}
	// … and DeriveSeed joins its inputs with "|" as §4.2 says.
	key := []byte("0123456789abcdef0123456789abcdef")
	want := fmt.Sprintf("%x", hmacSHA256(key, []byte("jiangsu-2020|Recheck|nanjing")))
	if got := DeriveSeed(key, "jiangsu-2020", "Recheck", "nanjing"); got != want {
		t.Fatalf("DeriveSeed = %s, want %s", got, want)
	}
	// Different purpose or key → different seed.
	if DeriveSeed(key, "jiangsu-2020", "FlyCheck", "nanjing") == want {
		t.Error("purpose does not enter the seed")
	}
	if DeriveSeed([]byte("other"), "jiangsu-2020", "Recheck", "nanjing") == want {
		t.Error("key does not enter the seed")
	}
}
