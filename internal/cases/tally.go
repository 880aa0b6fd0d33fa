package cases

// Tally adds up cases for a roll-up (a city's row of the Campaign status):
// counts and exact sums only.
type Tally struct {
	Cases, SelfReported, Inspected, WithFindings, Blank, Overdue int
	Found, Ordered, Recovered                                    Fen
}

// Entry is what one case contributes.
type Entry struct {
	SelfReported, Inspected, WithFindings, Overdue bool
	Found, Ordered, Recovered                      Fen
}

// Add counts one case.
func (t *Tally) Add(e Entry) error {
	var err error
	if t.Found, err = t.Found.Add(e.Found); err != nil {
		return err
	}
	if t.Ordered, err = t.Ordered.Add(e.Ordered); err != nil {
		return err
	}
	if t.Recovered, err = t.Recovered.Add(e.Recovered); err != nil {
		return err
	}
	t.Cases++
	t.SelfReported += b2i(e.SelfReported)
	t.Inspected += b2i(e.Inspected)
	t.WithFindings += b2i(e.Inspected && e.WithFindings)
	t.Blank += b2i(e.Inspected && !e.WithFindings)
	t.Overdue += b2i(e.Overdue)
	return nil
}

// ProblemDiscoveryPercent is withFindings / inspected in percent, rounded
// down (发现问题率); ok is false while nothing was inspected.
func (t Tally) ProblemDiscoveryPercent() (pct int, ok bool) {
	if t.Inspected == 0 {
		return 0, false
	}
	return t.WithFindings * 100 / t.Inspected, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
