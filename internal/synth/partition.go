package synth

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
)

// partitionedTables are written as <table>/part-<k>-of-<N>.<ext>: every row
// of an institution in partition fnv1a32(fixmedins_code) mod N, the shard
// function of the screener, so that shard i of n (n dividing N) reads only
// the partitions k ≡ i (mod n). Diagnoses follow their visit. institutions
// and persons stay whole (every shard needs them).
var partitionedTables = []string{"visits", "fee_lines", "diagnoses"}

func partitionOf(code string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(code))
	return int(h.Sum32() % uint32(n))
}

// partSink writes institutions and persons through whole, and each visit
// (with its fee lines and diagnoses) through the sink of its partition.
// Every inner sink writes a full set of files in its own directory; close
// moves the partitioned tables into place and drops the empty rest.
type partSink struct {
	dir, ext string
	whole    sink
	parts    []sink
}

func partDir(dir string, k int) string { return filepath.Join(dir, fmt.Sprintf(".part-%d", k)) }

func newPartSink(dir string, n int, format Format, encoding string, typed bool, cal *calendar) (*partSink, error) {
	ext := "csv"
	if format == Parquet {
		ext = "parquet"
	}
	s := &partSink{dir: dir, ext: ext, parts: make([]sink, n)}
	var err error
	if s.whole, err = newSink(dir, format, encoding, typed, cal); err != nil {
		return nil, err
	}
	for k := range s.parts {
		if s.parts[k], err = newSink(partDir(dir, k), format, encoding, typed, cal); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *partSink) institution(in *Institution) error { return s.whole.institution(in) }
func (s *partSink) person(p *person) error            { return s.whole.person(p) }
func (s *partSink) visit(id string, v *visitBuf) error {
	return s.parts[partitionOf(v.inst.Code, len(s.parts))].visit(id, v)
}

func (s *partSink) close() error {
	err := s.whole.close()
	for _, p := range s.parts {
		if e := p.close(); err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	n := len(s.parts)
	for _, t := range partitionedTables {
		if err := os.Remove(filepath.Join(s.dir, t+"."+s.ext)); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(s.dir, t), 0o755); err != nil {
			return err
		}
		for k := 0; k < n; k++ {
			from := filepath.Join(partDir(s.dir, k), t+"."+s.ext)
			to := filepath.Join(s.dir, t, fmt.Sprintf("part-%d-of-%d.%s", k, n, s.ext))
			if err := os.Rename(from, to); err != nil {
				return err
			}
		}
	}
	for k := 0; k < n; k++ {
		if err := os.RemoveAll(partDir(s.dir, k)); err != nil {
			return err
		}
	}
	return nil
}
