package screening

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// A partitioned table is a directory <table>/ of files part-<k>-of-<N>.csv
// (or .parquet): every row of an institution is in partition
// fnv1a32(fixmedins_code) mod N — the shard function — and diagnoses follow
// their visit (docs/data-format.md). When N is a multiple of the shard
// count n, shard i needs only the partitions k with k mod n == i, because
// fnv mod N mod n == fnv mod n.

var partName = regexp.MustCompile(`^part-(\d+)-of-(\d+)\.(csv|parquet)$`)

// partitionable are the tables a shard may read only its part of.
var partitionable = map[string]bool{tFeeLines.name: true, tVisits.name: true, tDiagnoses.name: true}

// partFiles lists the partition files of table directory dir with the
// extension ext ("" = either, but not both), checking that they are exactly
// part-0..N-1 of one N.
func partFiles(dir, ext string) ([]string, int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	var files []string
	n, seenExt := 0, ""
	byK := map[int]string{}
	for _, e := range ents {
		m := partName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() || (ext != "" && m[3] != ext) {
			continue
		}
		k, _ := strconv.Atoi(m[1])
		nn, _ := strconv.Atoi(m[2])
		if seenExt != "" && m[3] != seenExt {
			return nil, 0, fmt.Errorf("%s: both .csv and .parquet partitions; choose one with --format", dir)
		}
		if n != 0 && nn != n {
			return nil, 0, fmt.Errorf("%s: partitions of %d and of %d files", dir, n, nn)
		}
		seenExt, n = m[3], nn
		byK[k] = e.Name()
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("%s: no part-<k>-of-<N> files", dir)
	}
	for k := 0; k < n; k++ {
		f, ok := byK[k]
		if !ok {
			return nil, 0, fmt.Errorf("%s: partition %d of %d is missing", dir, k, n)
		}
		files = append(files, filepath.Join(dir, f))
	}
	if len(byK) != n {
		return nil, 0, fmt.Errorf("%s: partition numbers beyond %d", dir, n)
	}
	return files, n, nil
}

// selectParts keeps the partitions shard i of n needs: those k with
// k mod n == i when n divides N, else all of them (still correct: the
// fee-line pass filters by shard anyway).
func selectParts(files []string, shard, shards int) []string {
	n := len(files)
	if shards <= 1 || n%shards != 0 {
		return files
	}
	var out []string
	for k := shard; k < n; k += shards {
		out = append(out, files[k])
	}
	return out
}

// multiSource reads the partition files of one table one after the other,
// as if they were one file in partition order. Its name in messages is the
// pattern <dir>/part-*-of-<N>.<ext> (quarantine rows give the line within
// their partition file).
type multiSource struct {
	name  string
	parts []source
}

func (s *multiSource) file() string { return s.name }

func (s *multiSource) setTaskRows(rows int64) {
	for _, p := range s.parts {
		if ts, ok := p.(taskSizer); ok {
			ts.setTaskRows(rows)
		}
	}
}

func (s *multiSource) rows() int64 {
	var n int64
	for _, p := range s.parts {
		n += p.rows()
	}
	return n
}

func (s *multiSource) info() TableInput {
	ti := s.parts[0].info()
	ti.File = s.name
	return ti
}

func (s *multiSource) tasks(ctx context.Context, ch chan<- task) error {
	defer close(ch)
	for _, p := range s.parts {
		inner := make(chan task)
		errc := make(chan error, 1)
		go func() { errc <- p.tasks(ctx, inner) }()
		for t := range inner {
			select {
			case ch <- t:
			case <-ctx.Done():
				go func() {
					for range inner {
					}
				}()
				<-errc
				return ctx.Err()
			}
		}
		if err := <-errc; err != nil {
			return err
		}
	}
	return nil
}

func (s *multiSource) close() error {
	var err error
	for _, p := range s.parts {
		if e := p.close(); err == nil {
			err = e
		}
	}
	return err
}

// fileSizes sums the sizes of files (for stats.json).
func fileSizes(files []string) int64 {
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}
