package screening

import "sync"

// freeList recycles buffers between goroutines like a sync.Pool, but keeps
// them across garbage collections, up to a budget of bytes (as its size
// function counts them) so that a burst does not pin memory for the rest
// of the run.
type freeList[T any] struct {
	mu     sync.Mutex
	items  []*T
	bytes  int
	budget int
	size   func(*T) int
}

// get returns a recycled object, or nil.
func (f *freeList[T]) get() *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.items)
	if n == 0 {
		return nil
	}
	x := f.items[n-1]
	f.items[n-1] = nil
	f.items = f.items[:n-1]
	f.bytes -= f.size(x)
	return x
}

// getFit returns a recycled object that fits (the most recent such), or
// nil: buffers of varied sizes are then reused by what they fit instead
// of being replaced by larger ones (a replaced buffer is garbage the
// collector must find, and its successor fresh memory).
func (f *freeList[T]) getFit(fits func(*T) bool) *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.items) - 1; i >= 0; i-- {
		if x := f.items[i]; fits(x) {
			last := len(f.items) - 1
			f.items[i] = f.items[last]
			f.items[last] = nil
			f.items = f.items[:last]
			f.bytes -= f.size(x)
			return x
		}
	}
	return nil
}

// put keeps x for reuse if the budget allows, else leaves it to the GC.
func (f *freeList[T]) put(x *T) {
	n := f.size(x)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes+n <= f.budget {
		f.items = append(f.items, x)
		f.bytes += n
	}
}
