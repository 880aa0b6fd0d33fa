package screening

import (
	"bytes"
	"hash/maphash"
	"sync"
)

// interner maps byte strings to dense int32 ids. It stores every string once
// in one arena, so millions of visit ids cost ~20 bytes each plus their
// length (a map[string]int32 costs several times that), and lookups do not
// allocate. A table slot holds the string's hash next to its id, so a probe
// touches the arena only when the hashes match (one cache miss for the slot,
// one for the string, instead of several). Not safe for concurrent
// mutation; concurrent lookups are safe once building is finished.
type interner struct {
	arena []byte
	offs  []uint32 // id → start in arena; offs[id+1] = end
	table []uint64 // open addressing; 0 = empty, else hash<<32 | id+1
	mask  uint32
	n     int
}

var internSeed = maphash.MakeSeed()

// newInterner sizes the table for capacity strings (a hint).
func newInterner(capacity int) *interner {
	t := &interner{offs: make([]uint32, 1, capacity+1)}
	size := 16
	for size*3 < capacity*4 {
		size <<= 1
	}
	t.table = make([]uint64, size)
	t.mask = uint32(size - 1)
	return t
}

func hashBytes(b []byte) uint32 {
	h := maphash.Bytes(internSeed, b)
	return uint32(h ^ h>>32)
}

// len returns the number of strings interned.
func (t *interner) len() int { return t.n }

// get returns the bytes of id (valid until the next intern call grows the
// arena; callers that keep it copy it).
func (t *interner) get(id int32) []byte { return t.arena[t.offs[id]:t.offs[id+1]] }

func (t *interner) str(id int32) string { return string(t.get(id)) }

// intern returns the id of b, adding it if needed.
func (t *interner) intern(b []byte) (id int32, added bool) {
	return t.internHashed(b, hashBytes(b))
}

// internHashed is intern with h = hashBytes(b) computed by the caller (a
// parallel worker), so that the sequential caller only probes.
func (t *interner) internHashed(b []byte, h uint32) (id int32, added bool) {
	i := h & t.mask
	for ; ; i = (i + 1) & t.mask {
		e := t.table[i]
		if e == 0 {
			break
		}
		if uint32(e>>32) == h {
			id := int32(uint32(e)) - 1
			if bytes.Equal(t.get(id), b) {
				return id, false
			}
		}
	}
	id = int32(t.n)
	t.n++
	t.arena = append(t.arena, b...)
	t.offs = append(t.offs, uint32(len(t.arena)))
	t.table[i] = uint64(h)<<32 | uint64(id+1)
	// Grow at 3/4 load: with the hash in the slot, linear probing stays
	// short and the table costs 8 bytes × 4/3 per string at most.
	if uint64(t.n)*4 > uint64(t.mask)*3 {
		t.grow()
	}
	return id, true
}

func (t *interner) grow() {
	old := t.table
	size := len(old) * 2
	t.table = make([]uint64, size)
	t.mask = uint32(size - 1)
	for _, e := range old {
		if e == 0 {
			continue
		}
		i := uint32(e>>32) & t.mask
		for t.table[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.table[i] = e
	}
}

// syncInterner is an interner shared by decoding workers (item codes,
// diagnosis codes: few distinct values). Workers front it with a private
// cache so the lock is taken only for codes they have not seen yet.
type syncInterner struct {
	mu sync.RWMutex
	t  *interner
}

func newSyncInterner() *syncInterner { return &syncInterner{t: newInterner(1024)} }

func (s *syncInterner) intern(b []byte) int32 {
	s.mu.Lock()
	id, _ := s.t.intern(b)
	s.mu.Unlock()
	return id
}

func (s *syncInterner) str(id int32) string {
	s.mu.RLock()
	v := s.t.str(id)
	s.mu.RUnlock()
	return v
}

// localCache is a worker's private front of a syncInterner.
type localCache struct {
	shared *syncInterner
	m      map[string]int32
}

func newLocalCache(s *syncInterner) *localCache {
	return &localCache{shared: s, m: make(map[string]int32, 1024)}
}

func (c *localCache) intern(b []byte) int32 {
	if id, ok := c.m[string(b)]; ok { // no allocation: map lookup by []byte conversion
		return id
	}
	id := c.shared.intern(b)
	c.m[string(b)] = id
	return id
}
