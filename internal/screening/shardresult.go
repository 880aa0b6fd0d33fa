package screening

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ShardResult is what one shard of a ScreeningJob reports back to the
// operator: its per-institution summary and run statistics. It travels
// gzip-compressed (a 5 000-institution summary is ~1.5 MB of JSON, more than
// a ConfigMap holds, and compresses about tenfold) and signed.
type ShardResult struct {
	Summary *Summary `json:"summary"`
	Stats   *Stats   `json:"stats"`
}

// MaxShardResultJSON bounds a shard result once inflated. The screener
// refuses to report more (use more shards), and the operator stops
// inflating there, so a forged "gzip bomb" costs it at most this much.
const MaxShardResultJSON = 8 << 20

// ErrShardResultTooLarge: the result inflates to more than MaxShardResultJSON.
var ErrShardResultTooLarge = errors.New("shard result inflates to more than the limit")

// EncodeShardResult serialises a shard's result as gzip(JSON).
func EncodeShardResult(r ShardResult) ([]byte, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxShardResultJSON {
		return nil, fmt.Errorf("%w (%d bytes of JSON, limit %d): use more shards", ErrShardResultTooLarge, len(raw), MaxShardResultJSON)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeShardResult reverses EncodeShardResult, inflating at most
// MaxShardResultJSON bytes. Callers verify the signature first
// (VerifyShardResult): an unauthenticated result is never inflated.
func DecodeShardResult(data []byte) (ShardResult, error) {
	var r ShardResult
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return r, fmt.Errorf("shard result: %w", err)
	}
	raw, err := readAtMost(zr, MaxShardResultJSON)
	if errors.Is(err, ErrShardResultTooLarge) {
		return r, err
	}
	if err != nil {
		return r, fmt.Errorf("shard result: %w", err)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("shard result: %w", err)
	}
	if r.Summary == nil || r.Stats == nil {
		return r, fmt.Errorf("shard result: summary or stats missing")
	}
	return r, nil
}

// readAtMost reads r to its end, or to limit bytes and one more, which
// it does not keep: more than limit bytes return ErrShardResultTooLarge.
// Its buffer doubles as it fills, so that reading n bytes allocates under
// 2n in all (io.ReadAll grows by a quarter at a time past 256 bytes, about
// 5n in all: 40 MiB for a gzip bomb cut at the 8 MiB limit).
func readAtMost(r io.Reader, limit int) ([]byte, error) {
	buf := make([]byte, 0, min(limit, 64<<10))
	for {
		if len(buf) == cap(buf) {
			if len(buf) == limit {
				var one [1]byte
				if n, err := io.ReadFull(r, one[:]); n > 0 {
					return nil, fmt.Errorf("%w (%d bytes)", ErrShardResultTooLarge, limit)
				} else if err != io.EOF {
					return nil, err
				}
				return buf, nil
			}
			buf = append(make([]byte, 0, min(limit, 2*cap(buf))), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// SignShardResult is the signature of a shard result (DESIGN §11):
// HMAC-SHA256 under the ScreeningJob's signing key over the ScreeningJob's
// UID, the shard index and the result's bytes, so that a result signed for
// one job or index is worthless for any other.
func SignShardResult(key []byte, uid string, index int, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("flycheck-shard-result/v1\n" + uid + "\n" + strconv.Itoa(index) + "\n"))
	m.Write(data)
	return m.Sum(nil)
}

// VerifyShardResult checks sig in constant time.
func VerifyShardResult(key []byte, uid string, index int, data, sig []byte) bool {
	return len(key) > 0 && hmac.Equal(sig, SignShardResult(key, uid, index, data))
}
