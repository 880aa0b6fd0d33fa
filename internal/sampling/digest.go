package sampling

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// CanonicalRow is the digest form of one institution (DESIGN §4.1):
//
//	code TAB cityCode TAB level TAB ownership TAB type TAB risk LF
//
// with level in decimal and risk with exactly six decimals. The name is not
// part of it: renaming a hospital does not change who can be drawn.
func CanonicalRow(in Institution) string {
	return strings.Join([]string{in.Code, in.CityCode, strconv.Itoa(in.Level),
		in.Ownership, in.Type, in.Risk.String()}, "\t") + "\n"
}

// Digest returns hex(sha256(canonical rows sorted by code in byte order)),
// lower-case, after checking the frame with [ValidateFrame]. It does not
// depend on the order of the rows given.
func Digest(frame []Institution) (string, error) {
	if err := ValidateFrame(frame); err != nil {
		return "", err
	}
	return digestValid(frame), nil
}

// digestValid is Digest without the validation, for callers that have
// already validated.
func digestValid(frame []Institution) string {
	rows := slices.Clone(frame)
	slices.SortFunc(rows, func(a, b Institution) int { return strings.Compare(a.Code, b.Code) })
	h := sha256.New()
	for _, in := range rows {
		h.Write([]byte(CanonicalRow(in)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DeriveSeed is the seed of a draw whose spec gives none (DESIGN §4.2):
// hex(HMAC-SHA256(key, campaign + "|" + purpose + "|" + scope)), lower-case.
//
// key is the operator's secret sampling key: without it nobody can compute
// the seed before the draw, so institutions cannot predict who is checked;
// with the same key, re-applying the same manifest derives the same seed and
// therefore the same selection. scope names what the draw covers (the caller
// chooses it, e.g. the city for a Recheck and the province for a FlyCheck).
// The seed itself is recorded in status so that auditors can verify the draw
// without the key.
func DeriveSeed(key []byte, campaign, purpose, scope string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(campaign + "|" + purpose + "|" + scope))
	return hex.EncodeToString(m.Sum(nil))
}

// Key is the random key of one institution under a seed (DESIGN §4.3):
// hex(sha256(seed + "|" + code)), lower-case. "Random order" is ascending
// Key compared as strings in byte order — for lower-case hex that is the
// same as comparing the raw 32-byte hashes. It can be checked with
//
//	printf '%s' 'SEED|CODE' | sha256sum
func Key(seed, code string) string {
	sum := sha256.Sum256([]byte(seed + "|" + code))
	return hex.EncodeToString(sum[:])
}
