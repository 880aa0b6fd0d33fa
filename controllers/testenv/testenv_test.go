package testenv

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// only the goroutine it is called on, as t.Fatalf ends a test's.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// eventually runs Eventually on its own goroutine and returns what it
// failed with ("" when the condition was met).
func eventually(t *testing.T, timeout time.Duration, cond func() error) string {
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Eventually(r, timeout, cond)
	}()
	<-done
	return r.msg
}

func TestEventuallyPollsUntilTheConditionHolds(t *testing.T) {
	calls := 0
	msg := eventually(t, 5*time.Second, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if msg != "" || calls != 3 {
		t.Errorf("failed with %q after %d calls; want success on the 3rd", msg, calls)
	}
}

func TestEventuallyFailsWithTheLastError(t *testing.T) {
	calls := 0
	start := time.Now()
	msg := eventually(t, 200*time.Millisecond, func() error {
		calls++
		return fmt.Errorf("attempt %d", calls)
	})
	if want := fmt.Sprintf("condition not met within 200ms: attempt %d", calls); msg != want {
		t.Errorf("failed with %q, want %q", msg, want)
	}
	if took := time.Since(start); took < 200*time.Millisecond || calls < 2 {
		t.Errorf("gave up after %s and %d calls", took, calls)
	}
}

// A directory without the control plane is an error that says how to
// build it, never a silent skip.
func TestStartWithoutAControlPlaneFails(t *testing.T) {
	_, err := Start(Options{Assets: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "kube-apiserver not found") || !strings.Contains(err.Error(), "make controlplane") {
		t.Errorf("Start in an empty directory: %v", err)
	}
}

// The CRDs are those of config/crd/bases: the operator's group, every kind
// of the API among them.
func TestCRDs(t *testing.T) {
	crds, err := CRDs()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, c := range crds {
		if c.Spec.Group != flycheckv1.GroupVersion.Group {
			t.Errorf("CRD %s of group %s", c.Name, c.Spec.Group)
		}
		kinds[c.Spec.Names.Kind] = true
	}
	for _, k := range []string{"Campaign", "RuleSet", "ScreeningJob", "InspectionSample"} {
		if !kinds[k] {
			t.Errorf("no CRD for %s among %v", k, kinds)
		}
	}
}
