package controllers

import (
	"testing"
	"time"
)

// TestRollupPacer: a case event waits twice the campaign's last reconcile,
// never less than minRollupDelay nor more than maxRollupDelay, and each
// campaign has its own.
func TestRollupPacer(t *testing.T) {
	var p rollupPacer
	if d := p.delay("a"); d != minRollupDelay {
		t.Errorf("before any reconcile: %s, want %s", d, minRollupDelay)
	}
	for _, c := range []struct{ took, want time.Duration }{
		{10 * time.Millisecond, minRollupDelay},
		{300 * time.Millisecond, 600 * time.Millisecond},
		{2 * time.Second, maxRollupDelay},
	} {
		p.observe("a", c.took)
		if d := p.delay("a"); d != c.want {
			t.Errorf("after a reconcile of %s: %s, want %s", c.took, d, c.want)
		}
	}
	if d := p.delay("b"); d != minRollupDelay {
		t.Errorf("another campaign: %s, want %s", d, minRollupDelay)
	}
	p.forget("a")
	if d := p.delay("a"); d != minRollupDelay {
		t.Errorf("after forget: %s, want %s", d, minRollupDelay)
	}
}
