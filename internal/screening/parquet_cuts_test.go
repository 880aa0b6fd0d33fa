package screening

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func pages(every, rows, size int64) pageStarts {
	var p pageStarts
	for r := int64(0); r < rows; r += every {
		p.first = append(p.first, r)
		p.size = append(p.size, size)
	}
	return p
}

func TestPageCutsAvoidDecodingPagesTwice(t *testing.T) {
	const rows = 1 << 20
	// A heavy column with pages of 32 128 rows and a light one with pages
	// of 10 000: the fixed cut at 65 536 would split a heavy page.
	pc := pageCuts{rows: parquetTaskRows, cols: []pageStarts{pages(32128, rows, 1000), pages(10000, rows, 10)}}
	if w := pc.waste(parquetTaskRows); w != 1010 {
		t.Fatalf("waste at the fixed cut = %d, want 1010", w)
	}
	if got := pc.next(0, rows); got != 64256 {
		t.Fatalf("first cut at %d, want 64256 (a heavy page start)", got)
	}
	if w := pc.waste(64256); w != 10 {
		t.Fatalf("waste at 64256 = %d, want 10", w)
	}
	// Where every column starts a page, nothing is decoded twice.
	both := pageCuts{rows: parquetTaskRows, cols: []pageStarts{pages(16384, rows, 500), pages(32768, rows, 900)}}
	if got := both.next(0, rows); got != 65536 || both.waste(got) != 0 {
		t.Fatalf("cut at %d (waste %d), want 65536 (0)", got, both.waste(got))
	}
	// Every task stays within [¾, 1½] × parquetTaskRows, the last takes
	// the rest, and the tasks cover the row group.
	var start int64
	for start < rows {
		end := pc.next(start, rows)
		if n := end - start; end != rows && (n < parquetTaskRows*3/4 || n > parquetTaskRows*3/2) {
			t.Fatalf("task [%d, %d) has %d rows", start, end, n)
		}
		if end <= start || end > rows {
			t.Fatalf("task [%d, %d) does not advance within the row group", start, end)
		}
		start = end
	}
	// The rest of a row group, up to 1½ × parquetTaskRows, is one task.
	if got := pc.next(rows-parquetTaskRows*3/2, rows); got != rows {
		t.Fatalf("the last %d rows were cut at %d", parquetTaskRows*3/2, got)
	}
	// Without an offset index: fixed tasks.
	if got := (pageCuts{rows: parquetTaskRows}).next(parquetTaskRows, rows); got != 2*parquetTaskRows {
		t.Fatalf("without offset index: cut at %d, want %d", got, 2*parquetTaskRows)
	}
}

// TestSetTaskRowsSizesTheTasks sets the task size of a partitioned source
// and counts each part's tasks: every part takes the size (multiSource
// forwards it), and the tasks follow it.
func TestSetTaskRowsSizesTheTasks(t *testing.T) {
	dir := t.TempDir()
	header := []string{"a"}
	var rows [][]string
	for i := 0; i < 5000; i++ {
		rows = append(rows, []string{fmt.Sprint(i)})
	}
	ms := &multiSource{name: "parts"}
	defer ms.close()
	for k := 0; k < 2; k++ {
		path := filepath.Join(dir, fmt.Sprintf("part-%d.parquet", k))
		if err := writeParquetGroups(path, header, rows, 0, parquet.PageBufferSize(512)); err != nil {
			t.Fatal(err)
		}
		src, err := openParquet(path, "t", header, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ms.parts = append(ms.parts, src)
	}
	for _, size := range []int64{1000, 2500} {
		ms.setTaskRows(size)
		ch := make(chan task)
		go func() { _ = ms.tasks(context.Background(), ch) }()
		n, most := 0, int64(0)
		for tk := range ch {
			n++
			most = max(most, tk.(*parquetTask).numRows())
		}
		// Each part's 5 000 rows in tasks of [¾, 1½] × size.
		if lo, hi := 2*int(5000/(size*3/2)), 2*int(5000/(size*3/4)); n < lo || n > hi || most > size*3/2 {
			t.Errorf("size %d: %d tasks of at most %d rows; want %d–%d tasks of at most %d", size, n, most, lo, hi, size*3/2)
		}
	}
}
