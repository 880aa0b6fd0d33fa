package screening

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A run's output cannot be mistaken for another's. Everything is written
// to a staging directory beside the output, <output>.incomplete, which is
// renamed into place only when the run succeeded, after a completion
// marker (CompleteMarker) was written into it. So:
//   - an output directory either holds one whole run, with its marker, or
//     nothing of this run;
//   - an interrupted run leaves <output>.incomplete behind (no marker),
//     recognisable as such; the next run removes it before it starts;
//   - a run refuses an output directory that holds an earlier run (or
//     anything else), unless Options.Overwrite, in which case it replaces
//     that run at the very end, when its own is complete.
//
// Spill files live in a directory named after the process (see
// newSpiller); a run removes its own on exit and, on start, those of
// processes that no longer exist.

// CompleteMarker is the file a completed run's output holds (JSON: when,
// which shard, how many findings).
const CompleteMarker = "complete.json"

// incompleteSuffix marks the staging directory of a run in progress, or of
// one that was interrupted.
const incompleteSuffix = ".incomplete"

// ErrOutputInUse: the output directory holds an earlier run or other files.
var ErrOutputInUse = errors.New("output directory is not empty")

// stagedOutput is where a run writes, and where its result goes.
type stagedOutput struct {
	final, staging string
	overwrite      bool
}

// stageOutput prepares the staging directory for final.
func stageOutput(final string, overwrite bool) (*stagedOutput, error) {
	final = filepath.Clean(final)
	if !overwrite {
		if err := checkEmptyOutput(final); err != nil {
			return nil, err
		}
	}
	s := &stagedOutput{final: final, staging: final + incompleteSuffix, overwrite: overwrite}
	// What an interrupted run left behind.
	if err := os.RemoveAll(s.staging); err != nil {
		return nil, fmt.Errorf("removing the interrupted run's %s: %w", s.staging, err)
	}
	if err := os.MkdirAll(s.staging, 0o755); err != nil {
		return nil, err
	}
	return s, nil
}

func checkEmptyOutput(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) == 0:
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, CompleteMarker)); err == nil {
		return fmt.Errorf("%w: %s holds an earlier run (it has %s); remove it, choose another --output, or pass --overwrite to replace it",
			ErrOutputInUse, dir, CompleteMarker)
	}
	return fmt.Errorf("%w: %s holds %d entries that are not a run of flycheck screen; choose an empty --output, or pass --overwrite",
		ErrOutputInUse, dir, len(entries))
}

// commit writes the marker and moves the staging directory into place.
func (s *stagedOutput) commit(marker any) error {
	if err := writeJSON(filepath.Join(s.staging, CompleteMarker), marker); err != nil {
		return err
	}
	if s.overwrite {
		if err := os.RemoveAll(s.final); err != nil {
			return fmt.Errorf("replacing the earlier run in %s: %w", s.final, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(s.final), 0o755); err != nil {
		return err
	}
	// An empty directory at final (one the user made) is replaced too:
	// os.Remove removes only an empty one, and Go's Rename will not move a
	// directory onto another.
	if err := os.Remove(s.final); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s changed while the run went on: %v", ErrOutputInUse, s.final, err)
	}
	if err := os.Rename(s.staging, s.final); err != nil {
		return fmt.Errorf("moving the completed run into %s: %w", s.final, err)
	}
	return nil
}

// abandon removes the staging directory of a run that failed.
func (s *stagedOutput) abandon() { _ = os.RemoveAll(s.staging) }

// completion is the content of CompleteMarker.
type completion struct {
	CompletedAt time.Time `json:"completedAt"`
	Shard       int       `json:"shard"`
	Shards      int       `json:"shards"`
	Rules       int       `json:"rules"`
	Findings    int64     `json:"findings"`
}

// spillPrefix names the spill directories of this process; stale ones of
// dead processes are removed by removeStaleSpills.
func spillPrefix() string { return "flycheck-spill-" + strconv.Itoa(os.Getpid()) + "-" }

// removeStaleSpills removes spill directories in dir left by processes that
// no longer run (a process that was killed cannot clean up after itself).
func removeStaleSpills(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "flycheck-spill-")
		pidText, _, ok2 := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || !ok2 || err != nil || !e.IsDir() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
