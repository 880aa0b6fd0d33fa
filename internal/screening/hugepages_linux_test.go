package screening

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestHugePagesAdvisesTheArray checks in /proc/self/smaps that the 2 MiB
// pages inside a large array carry the advice (VmFlags "hg") and that the
// array's values are untouched.
func TestHugePagesAdvisesTheArray(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("kernel without transparent huge pages:", err)
	}
	s := make([]uint64, 3<<20) // 24 MiB: at least 10 whole huge pages
	s[0], s[len(s)-1] = 7, 9
	s = hugePages(s)
	if len(s) != 3<<20 || s[0] != 7 || s[len(s)-1] != 9 {
		t.Fatal("hugePages changed the slice")
	}
	p := uintptr(unsafe.Pointer(&s[0]))
	mid := (p + 8<<20) &^ (2<<20 - 1) // a huge page well inside the array
	if flags := vmFlagsAt(t, mid); !strings.Contains(" "+flags+" ", " hg ") {
		t.Fatalf("VmFlags of the array's mapping: %q, want hg", flags)
	}
}

// vmFlagsAt returns the VmFlags of the mapping that contains address a.
func vmFlagsAt(t *testing.T, a uintptr) string { return smapsField(t, a, "VmFlags:") }

// smapsField returns the value of field key ("Rss:", "VmFlags:") of the
// mapping that contains address a, in /proc/self/smaps.
func smapsField(t *testing.T, a uintptr, key string) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		// A mapping's first line starts with its range, "from-to" in hex.
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok {
			from, err1 := strconv.ParseUint(lo, 16, 64)
			to, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(a) >= from && uint64(a) < to
				continue
			}
		}
		if in && strings.HasPrefix(line, key) {
			return strings.TrimSpace(strings.TrimPrefix(line, key))
		}
	}
	t.Fatalf("no mapping contains %#x", a)
	return ""
}
