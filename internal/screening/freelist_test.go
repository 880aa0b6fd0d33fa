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
