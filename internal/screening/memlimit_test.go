package screening

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

func TestNextMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name                       string
		limit, live, ceiling, want int64
		thrashing                  bool
	}{
		{"room left: unchanged", 768 * mib, 700 * mib, 0, 768 * mib, false},
		{"at the edge of room: unchanged", 768 * mib, 744 * mib, 0, 768 * mib, false},
		{"too little room: live plus a quarter", 768 * mib, 745 * mib, 0, 745*mib + 745*mib/4, false},
		{"over the limit", 768 * mib, 2048 * mib, 0, 2560 * mib, false},
		{"small heap: at least 64 MiB more", 4 * mib, 10 * mib, 0, 74 * mib, false},
		{"capped by the container", 768 * mib, 2048 * mib, 960 * mib, 960 * mib, false},
		{"never lowered by the cap", 768 * mib, 760 * mib, 700 * mib, 768 * mib, false},
		{"GC thrashing with room by the live heap: an eighth more", 768 * mib, 600 * mib, 0, 864 * mib, true},
		{"GC thrashing, live heap close: live plus a quarter", 768 * mib, 760 * mib, 0, 950 * mib, true},
		{"GC thrashing, capped", 768 * mib, 600 * mib, 800 * mib, 800 * mib, true},
	} {
		if got := nextMemoryLimit(c.limit, c.live, c.ceiling, c.thrashing); got != c.want {
			t.Errorf("%s: nextMemoryLimit(%d, %d, %d, %v) = %d MiB, want %d MiB", c.name, c.limit/mib, c.live/mib, c.ceiling/mib, c.thrashing, got/mib, c.want/mib)
		}
	}
}

func TestParseCgroupLimit(t *testing.T) {
	for in, want := range map[string]int64{
		"max\n":                 0,
		"9223372036854771712\n": 0, // cgroup v1 "unlimited"
		"1073741824\n":          1 << 30,
		"":                      0,
		"garbage":               0,
		"  536870912  ":         512 << 20,
	} {
		if got := parseCgroupLimit(in); got != want {
			t.Errorf("parseCgroupLimit(%q) = %d, want %d", in, got, want)
		}
	}
}

// A run whose live heap outgrows its limit raises the limit, says so in
// its stats, and puts the process's limit back afterwards; a run with
// room leaves it as it was.
func TestRunRaisesMemoryLimitItsHeapOutgrows(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	dir := t.TempDir()
	syntheticData(6, 30).write(t, dir, "csv")
	rs := []rules.Rule{rule("D", rules.DuplicateLine, "", rules.Params{})}

	_, res := screen(t, dir, rs, func(o *Options) { o.MemoryLimit = 1 << 20 })
	st := res.Stats
	if st.MemoryLimitBytes != 1<<20 || st.LiveHeapBytes <= 0 {
		t.Fatalf("stats: memoryLimitBytes %d, liveHeapBytes %d; want 1 MiB and the live heap", st.MemoryLimitBytes, st.LiveHeapBytes)
	}
	// Each check leaves the limit at least 16 MiB above the live heap it
	// read, and a raise adds at least 64 MiB.
	if want := max(st.LiveHeapBytes+16<<20, 64<<20); st.MemoryLimitRaisedTo < want {
		t.Errorf("memoryLimitRaisedTo = %d, want at least %d (live heap %d)", st.MemoryLimitRaisedTo, want, st.LiveHeapBytes)
	}
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Errorf("process memory limit after the run = %d, want the previous %d", got, prev)
	}

	_, res = screen(t, dir, rs, func(o *Options) { o.MemoryLimit = math.MaxInt64 / 2 })
	if st := res.Stats; st.MemoryLimitRaisedTo != 0 || st.MemoryLimitBytes != math.MaxInt64/2 {
		t.Errorf("a run with room: memoryLimitBytes %d, memoryLimitRaisedTo %d; want the limit given and no raise", st.MemoryLimitBytes, st.MemoryLimitRaisedTo)
	}
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Errorf("process memory limit after the second run = %d, want the previous %d", got, prev)
	}
}
