//go:build unix

package screening

import (
	"errors"
	"syscall"
)

// processAlive reports whether process pid runs (signal 0 checks without
// sending; EPERM: it runs as another user).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
