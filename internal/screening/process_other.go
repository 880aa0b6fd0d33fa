//go:build !unix

package screening

import "os"

// processAlive reports whether process pid may run: on Windows,
// os.FindProcess fails for a process that does not exist; elsewhere it
// always succeeds, and a spill directory is kept rather than removed from
// under a process that might still use it.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
