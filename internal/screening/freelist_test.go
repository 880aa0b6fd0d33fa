package screening

import "testing"

func TestFreeListKeepsWithinBudget(t *testing.T) {
	f := freeList[[]byte]{budget: 100, size: func(b *[]byte) int { return cap(*b) }}
	if f.get() != nil {
		t.Fatal("an empty list returned an object")
	}
	a, b, c := make([]byte, 60), make([]byte, 40), make([]byte, 1)
	f.put(&a)
	f.put(&b)
	f.put(&c) // over the budget: dropped
	if f.bytes != 100 || len(f.items) != 2 {
		t.Fatalf("kept %d objects, %d bytes; want 2, 100", len(f.items), f.bytes)
	}
	if got := f.get(); got != &b {
		t.Fatal("get did not return the last object put")
	}
	if f.bytes != 60 {
		t.Fatalf("bytes after get = %d, want 60", f.bytes)
	}
	f.put(&c)
	if got := f.get(); got != &c {
		t.Fatal("room freed by get was not reused")
	}
}

func TestFreeListGetFitTakesTheLatestThatFits(t *testing.T) {
	f := freeList[[]byte]{budget: 1000, size: func(b *[]byte) int { return cap(*b) }}
	big1, small, big2, tiny := make([]byte, 300), make([]byte, 50), make([]byte, 200), make([]byte, 10)
	for _, b := range []*[]byte{&big1, &small, &big2, &tiny} {
		f.put(b)
	}
	fits := func(n int) func(*[]byte) bool { return func(b *[]byte) bool { return cap(*b) >= n } }
	if got := f.getFit(fits(100)); got != &big2 {
		t.Fatalf("getFit(100) returned %d bytes, want the 200 put last of those that fit", cap(*got))
	}
	if f.bytes != 360 || len(f.items) != 3 {
		t.Fatalf("after getFit: %d objects, %d bytes; want 3, 360", len(f.items), f.bytes)
	}
	if got := f.getFit(fits(1000)); got != nil {
		t.Fatalf("getFit(1000) returned %d bytes, want nil", cap(*got))
	}
	if got := f.getFit(fits(100)); got != &big1 {
		t.Fatal("getFit(100) did not return the 300")
	}
	// The rest stay, in any order.
	seen := map[*[]byte]bool{}
	for x := f.get(); x != nil; x = f.get() {
		seen[x] = true
	}
	if len(seen) != 2 || !seen[&small] || !seen[&tiny] || f.bytes != 0 {
		t.Fatalf("left %d objects (%d bytes), want the 50 and the 10", len(seen), f.bytes)
	}
}
