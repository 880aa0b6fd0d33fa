package screening

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// spiller partitions the lines grouped rules need by institution into
// temporary files, for input that is not clustered by institution. Each
// partition is then read back whole (≈ 1/len(files) of the retained lines)
// and evaluated institution by institution.
type spiller struct {
	dir   string
	files []*os.File
	bufs  []*bufio.Writer
	hdr   [56]byte
}

func newSpiller(dir string, parts int) (*spiller, error) {
	d, err := os.MkdirTemp(dir, spillPrefix())
	if err != nil {
		return nil, err
	}
	s := &spiller{dir: d}
	for i := 0; i < parts; i++ {
		f, err := os.Create(filepath.Join(d, fmt.Sprintf("part-%02d", i)))
		if err != nil {
			s.remove()
			return nil, err
		}
		s.files = append(s.files, f)
		s.bufs = append(s.bufs, bufio.NewWriterSize(f, 64<<10))
	}
	return s, nil
}

func (s *spiller) remove() {
	for _, f := range s.files {
		f.Close()
	}
	os.RemoveAll(s.dir)
}

// Record: inst, visit, item int32; time, cnt, pric, amt int64; sn and setl
// lengths uint32; then the bytes.
func (s *spiller) write(inst int32, l *lineRec, arena []byte) error {
	h := s.hdr[:]
	le := binary.LittleEndian
	le.PutUint32(h[0:], uint32(inst))
	le.PutUint32(h[4:], uint32(l.visit))
	le.PutUint32(h[8:], uint32(l.item))
	le.PutUint64(h[12:], uint64(l.time))
	le.PutUint64(h[20:], uint64(l.cnt))
	le.PutUint64(h[28:], uint64(l.pric))
	le.PutUint64(h[36:], uint64(l.amt))
	le.PutUint32(h[44:], l.sn.n)
	le.PutUint32(h[48:], l.setl.n)
	w := s.bufs[uint32(inst)%uint32(len(s.bufs))]
	w.Write(h[:52])
	w.Write(l.sn.in(arena))
	_, err := w.Write(l.setl.in(arena))
	return err
}

func (s *spiller) replay(e *engine, submit func(int32, *instState)) error {
	for i, w := range s.bufs {
		if err := w.Flush(); err != nil {
			return err
		}
		f := s.files[i]
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		data, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		f.Truncate(0)
		states := map[int32]*instState{}
		var order []int32
		le := binary.LittleEndian
		// The partition's lines as one batch, with the file's bytes as its
		// arena: their states hold it as they hold the in-order pass's.
		lb := e.getBatch(0, 0)
		lb.arena = data
		ji, mi := 0, 0 // the plan's cursors (retainRun)
		for p := 0; p < len(data); {
			h := data[p:]
			inst := int32(le.Uint32(h[0:]))
			l := lineRec{visit: int32(le.Uint32(h[4:])), item: int32(le.Uint32(h[8:])),
				time: int64(le.Uint64(h[12:])), cnt: int64(le.Uint64(h[20:])), pric: int64(le.Uint64(h[28:])), amt: int64(le.Uint64(h[36:]))}
			sn, setl := le.Uint32(h[44:]), le.Uint32(h[48:])
			l.sn = strRef{uint32(p + 52), sn}
			l.setl = strRef{uint32(p+52) + sn, setl}
			p += 52 + int(sn) + int(setl)
			lb.lines = append(lb.lines, l) // states keep its row, not a pointer
			st := states[inst]
			if st == nil {
				st = e.newInstState(inst)
				states[inst] = st
				order = append(order, inst)
			}
			// Lines of several institutions alternate here: each is planned
			// and retained at once. (A bed mark the batch's plan drops
			// repeats the one before it of the same visit, so of the same
			// institution.)
			k := int32(len(lb.lines) - 1)
			e.planRetain(lb, &e.m.visits[l.visit], &lb.lines[k])
			ji, mi = st.retainRun(lb, k+1, ji, mi)
		}
		for _, inst := range order {
			submit(inst, states[inst])
		}
		e.dropBatch(lb)
	}
	return nil
}
