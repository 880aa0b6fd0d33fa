package screening

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The soft memory limit (Options.MemoryLimit, `--memory-limit`) keeps a
// shard inside its pod: near it the GC works harder instead of letting the
// heap double. But a shard whose live heap (the visit model, mostly)
// outgrows the limit gains nothing from it: the GC then runs back to back,
// capped at half the CPU, and the run takes twice as long for hardly less
// memory (measured: the 20 M-line set with --memory-limit 400 took 8.9 s
// and 748 MiB against 4.7 s and 812 MiB at 768). So the run watches the
// live heap and, when it comes within a GC's worth of the limit — or when
// the runtime's GC CPU limiter has engaged, which is the back-to-back GC
// itself, whatever part of the limit the runtime's own memory (stacks,
// metadata, fragmentation) takes — raises the limit above it, never past
// the container's own memory limit less a margin, and says so in
// stats.json and on stderr: such a shard is too large for its budget and
// needs more shards (docs/screening.md, Memory).

// memGuard sets and, when the live heap outgrows it, raises Go's soft
// memory limit for one run; stop puts the process's previous limit back.
type memGuard struct {
	set     int64 // the limit asked for
	ceiling int64 // most it may be raised to; 0: no container limit known
	prev    int64 // the process's limit before the run
	raised  atomic.Int64
	live    atomic.Int64 // highest live heap seen
	limiter uint64       // GC cycle the CPU limiter last engaged at, as last seen (watch only)
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// memGuardPoll is how often the guard reads the live heap (a few
// microseconds each time; the figure changes only at each GC).
const memGuardPoll = 10 * time.Millisecond

// startMemGuard sets the limit; limit ≤ 0 leaves the GC settings alone and
// returns nil.
func startMemGuard(limit int64) *memGuard {
	if limit <= 0 {
		return nil
	}
	g := &memGuard{set: limit, quit: make(chan struct{}), done: make(chan struct{})}
	if c := containerMemoryLimit(); c > 0 {
		g.ceiling = c - c/16
	}
	g.prev = debug.SetMemoryLimit(limit)
	_, g.limiter = readGC()
	go g.watch()
	return g
}

// readGC returns the live heap and the last GC cycle the CPU limiter
// engaged at (0 for a metric the runtime does not have).
func readGC() (live, limiterCycle uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/limiter/last-enabled:gc-cycle"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		limiterCycle = s[1].Value.Uint64()
	}
	return live, limiterCycle
}

func (g *memGuard) watch() {
	defer close(g.done)
	t := time.NewTicker(memGuardPoll)
	defer t.Stop()
	for {
		select {
		case <-g.quit:
			g.check() // a run shorter than a poll is judged too
			return
		case <-t.C:
			g.check()
		}
	}
}

// check reads the live heap and the GC CPU limiter and raises the limit if
// the rule says so.
func (g *memGuard) check() {
	l, cycle := readGC()
	live := int64(min(l, math.MaxInt64))
	if live > g.live.Load() {
		g.live.Store(live)
	}
	thrashing := cycle > g.limiter // the limiter engaged since the last look
	g.limiter = cycle
	limit := max(g.set, g.raised.Load())
	if next := nextMemoryLimit(limit, live, g.ceiling, thrashing); next > limit {
		debug.SetMemoryLimit(next)
		g.raised.Store(next)
	}
}

// stop ends the watch (once; later calls only report), puts the previous
// limit back and reports the highest live heap seen and the limit raised
// to (0 if never raised).
func (g *memGuard) stop() (live, raisedTo int64) {
	if g == nil {
		return 0, 0
	}
	g.once.Do(func() {
		close(g.quit)
		<-g.done
		debug.SetMemoryLimit(g.prev)
	})
	return g.live.Load(), g.raised.Load()
}

// nextMemoryLimit is the guard's rule: when the live heap leaves less than
// max(limit/32, 16 MiB) below the limit — each GC would free too little
// for the run to go on long without the next — the limit becomes live
// plus a quarter (at least 64 MiB); when the GC already runs back to back
// (thrashing), at least an eighth more than it was (at least 64 MiB) too.
// As far as the ceiling allows (0: none). It returns limit itself when
// nothing changes; never less.
func nextMemoryLimit(limit, live, ceiling int64, thrashing bool) int64 {
	if !thrashing && limit-live >= max(limit/32, 16<<20) {
		return limit
	}
	next := live + max(live/4, 64<<20)
	if thrashing {
		next = max(next, limit+max(limit/8, 64<<20))
	}
	if ceiling > 0 {
		next = min(next, ceiling)
	}
	return max(next, limit)
}

// containerMemoryLimit is the memory limit of the process's cgroup (v2
// memory.max, else v1 memory.limit_in_bytes), or 0 when there is none or
// it cannot be read.
func containerMemoryLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(p); err == nil {
			return parseCgroupLimit(string(b))
		}
	}
	return 0
}

// parseCgroupLimit reads a cgroup memory limit file: "max" (v2) or a
// value near the largest int64 (v1's "unlimited") is no limit.
func parseCgroupLimit(s string) int64 {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0
	}
	return n
}
