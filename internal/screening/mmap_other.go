//go:build !linux

package screening

import "os"

// mappedFile is Linux's (mmap_linux.go); elsewhere the file is read and
// data stays nil.
type mappedFile struct{ data []byte }

func mapFile(*os.File, int64) (*mappedFile, bool) { return nil, false }

func (m *mappedFile) ReadAt([]byte, int64) (int, error) { panic("not mapped") }

func (m *mappedFile) unmap() error { return nil }

func releaseMapped([]byte) {}
