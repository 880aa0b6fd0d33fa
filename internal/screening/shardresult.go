package screening

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
)

// ShardResult is what one shard of a ScreeningJob reports back to the
// operator: its per-institution summary and run statistics. It travels
// gzip-compressed (a 5 000-institution summary is ~1.5 MB of JSON, more than
// a ConfigMap holds, and compresses about tenfold).
type ShardResult struct {
	Summary *Summary `json:"summary"`
	Stats   *Stats   `json:"stats"`
}

// EncodeShardResult serialises a shard's result as gzip(JSON).
func EncodeShardResult(r ShardResult) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(r); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeShardResult reverses EncodeShardResult.
func DecodeShardResult(data []byte) (ShardResult, error) {
	var r ShardResult
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return r, fmt.Errorf("shard result: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 256<<20))
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
