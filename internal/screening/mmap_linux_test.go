package screening

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
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
