package screening

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// TestMappedFileReadsAsTheFile reads a mapped file at offsets around page
// boundaries and its end, as the file itself reads, and checks that the
// pages a read covers leave the resident set.
func TestMappedFileReadsAsTheFile(t *testing.T) {
	ps := os.Getpagesize()
	data := make([]byte, 64*ps+123)
	for i := range data {
		data[i] = byte(i*7 + i/ps)
	}
	f, m := mapTestFile(t, data)
	for _, c := range []struct{ off, n int }{
		{0, 10}, {ps - 3, 7}, {ps, 3 * ps}, {5*ps + 1, 9 * ps}, {len(data) - 100, 100},
		{len(data) - 50, 100}, {len(data), 1}, {len(data) + 5, 1}, {0, len(data)},
	} {
		want := make([]byte, c.n)
		wn, werr := f.ReadAt(want, int64(c.off))
		got := make([]byte, c.n)
		gn, gerr := m.ReadAt(got, int64(c.off))
		if gn != wn || (gerr == nil) != (werr == nil) || !bytes.Equal(got[:gn], want[:wn]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v; the file reads %d, %v", c.off, c.n, gn, gerr, wn, werr)
		}
		if werr != nil && gerr != io.EOF {
			t.Errorf("ReadAt(%d, %d): error %v, want io.EOF", c.off, c.n, gerr)
		}
	}
	if _, err := m.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at a negative offset: no error")
	}
	// Everything was read at least once: at most the two partial pages of
	// the last read of each range stay mapped.
	if rss := mappedResidentKiB(t, m); rss > int64(4*ps/1024) {
		t.Errorf("%d KiB of the mapping resident after reading it all; the reads should release their whole pages", rss)
	}
}

// mappedResidentKiB is the Rss of m's mapping in /proc/self/smaps.
func mappedResidentKiB(t *testing.T, m *mappedFile) int64 {
	t.Helper()
	v := smapsField(t, uintptr(unsafe.Pointer(unsafe.SliceData(m.data))), "Rss:")
	n, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	if err != nil {
		t.Fatalf("Rss %q: %v", v, err)
	}
	return n
}

// A Parquet file cut short after it was opened (and mapped) fails the scan
// with an error that names the file; the read past its end does not crash
// the process (SIGBUS).
func TestScanOfAFileCutShortFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.parquet")
	header := []string{"a", "b"}
	var rows [][]string
	for i := 0; i < 50000; i++ {
		rows = append(rows, []string{fmt.Sprintf("row-%09d", i*7919%50000), fmt.Sprint(i)})
	}
	if err := writeParquetGroups(path, header, rows, 0, parquet.PageBufferSize(4096)); err != nil {
		t.Fatal(err)
	}
	src, err := openParquet(path, "t", header, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/4); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	err = scan(context.Background(), src, 2, func(_ int, b *batch) int {
		k := 0
		for i := 0; i < b.n; i++ {
			k += len(b.cols[0].at(i)) + len(b.cols[1].at(i))
		}
		return k
	}, func(k int) error { n.Add(int64(k)); return nil })
	if err == nil || !strings.Contains(err.Error(), "t.parquet: the file changed while it was read") {
		t.Fatalf("scan of a file cut to a quarter: %v (%d bytes read), want the file's error", err, n.Load())
	}
}
