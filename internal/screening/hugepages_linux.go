package screening

import (
	"syscall"
	"unsafe"
)

// hugePages asks Linux to back the array of s with transparent huge pages
// and returns s. Call it on a fresh array, before it is written: the
// model's arrays (the visits, their id arenas and index, ≈ 450 MB at 20 M
// fee lines) are first written once, and a first touch costs a page fault
// per 4 KiB page, ≈ 3 µs each on a virtual machine — a tenth of a no-rule
// run's CPU. With 2 MiB pages there are 512 times fewer (docs/benchmarks.md).
// Where THP is off the advice is ignored, as is an error: it is only advice.
func hugePages[T any](s []T) []T {
	const huge = 2 << 20
	n := uintptr(cap(s)) * unsafe.Sizeof(*new(T))
	if n < huge {
		return s
	}
	base := unsafe.Pointer(unsafe.SliceData(s))
	// Only whole huge pages inside the array: advising a page that other
	// objects share would give them huge pages too.
	p := uintptr(base)
	start, end := (p+huge-1)&^(huge-1), (p+n)&^(huge-1)
	if end > start {
		b := unsafe.Slice((*byte)(unsafe.Add(base, start-p)), end-start)
		_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	}
	return s
}
