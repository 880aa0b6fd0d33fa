package screening

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// mappedFile is a read-only memory map of a Parquet file. mappedPages
// decompresses most column chunks' pages straight from it
// (parquet_pages.go); parquet-go reads the footer and the other chunks
// through ReadAt, a copy from the page cache in user space instead of a
// pread system call. pread was 5 % of a no-rule run's CPU, most of it the
// kernel's per-page work, and parquet-go's read-ahead past each task's
// pages (about half as much again as the pages themselves) made it more
// (docs/benchmarks.md, "Stop of 2026-12-07, night").
// A file truncated while it is mapped faults on the next read past its
// new end (SIGBUS); scan's workers turn the fault into the run's error
// (faultError), as a read error would be.
type mappedFile struct {
	data []byte
}

// mapFile maps f (size bytes); ok is false when it cannot be mapped (an
// empty file, a pipe, a file system without mmap), and the caller reads
// the file instead.
func mapFile(f *os.File, size int64) (m *mappedFile, ok bool) {
	if size <= 0 || int64(int(size)) != size {
		return nil, false
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, false
	}
	return &mappedFile{data: data}, true
}

func (m *mappedFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, os.ErrInvalid
	}
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	m.release(off, n)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// release drops the mapping of the whole pages in [off, off+n) once they
// are copied: parquet-go reads each range once (the pages at a task's
// boundary twice, and they are mapped again), so without it the whole file
// would count in the process's resident set — the 20 M-line extract's
// 550 MB — though the pages are the page cache's, which a pread reads
// from as well.
func (m *mappedFile) release(off int64, n int) { releaseMapped(m.data[off : off+int64(n)]) }

// releaseMapped drops the mapping of the whole pages inside b, a part of a
// file's read-only mapping; a later read maps them again, from the page
// cache.
func releaseMapped(b []byte) {
	if len(b) == 0 {
		return
	}
	ps := uintptr(os.Getpagesize())
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start, end := (p+ps-1)&^(ps-1), (p+uintptr(len(b)))&^(ps-1)
	if end > start {
		_ = syscall.Madvise(b[start-p:end-p], syscall.MADV_DONTNEED)
	}
}

func (m *mappedFile) unmap() error {
	if m == nil || m.data == nil {
		return nil
	}
	err := syscall.Munmap(m.data)
	m.data = nil
	return err
}
