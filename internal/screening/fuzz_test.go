package screening

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// readAllCSV reads a CSV file through the reader (chunking, parallel
// parsing) and renders accepted rows and rejects.
func readAllCSV(t testing.TB, path string, required []string, chunk int) ([]string, []string, error) {
	saved := csvChunkSize
	csvChunkSize = chunk
	defer func() { csvChunkSize = saved }()
	src, err := openCSV(path, "", required, nil, EncodingUTF8, nil)
	if err != nil {
		return nil, nil, err
	}
	defer src.close()
	var rows, rejects []string
	err = scan(context.Background(), src, 3, func(_ int, b *batch) []string {
		var out []string
		for i := 0; i < b.n; i++ {
			s := fmt.Sprintf("%d:", b.lineOf(i))
			for c := range b.cols {
				s += fmt.Sprintf("%q,", b.cols[c].at(i))
			}
			out = append(out, s)
		}
		for _, r := range b.rejects {
			out = append(out, fmt.Sprintf("R%d:%s:%q", r.line, r.reason, r.raw))
		}
		return out
	}, func(out []string) error {
		for _, s := range out {
			if s[0] == 'R' {
				rejects = append(rejects, s)
			} else {
				rows = append(rows, s)
			}
		}
		return nil
	})
	return rows, rejects, err
}

// FuzzCSVReader checks that the CSV reader never panics, that cutting the
// file into chunks (parallel parsing) gives exactly the rows and rejects of
// reading it whole, and that accepted fields survive re-encoding.
// Seeds: testdata/fuzz/FuzzCSVReader.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("1,2,3\n4,5,6\n"))
	f.Add([]byte("\"a,b\",\"c\"\"d\",e\r\nx,\"multi\nline\",z\n"))
	f.Add([]byte("1,2\n\"unterminated,3,4\n5,6,7\n"))
	f.Add([]byte("1,2,3\n4,5,\"cut"))                               // truncated inside the last field
	f.Add([]byte("1,2,3\n4,5,\"cut\r\n"))                           // the same with a final line break
	f.Add([]byte("1,\"a\nb\",3\n4,\xB9\xE3,6\n7,\xE5\xB9\xBF,9\n")) // not UTF-8, then UTF-8
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "t.csv")
		if err := os.WriteFile(path, append([]byte("a,b,c\n"), data...), 0o644); err != nil {
			t.Fatal(err)
		}
		rows1, rej1, err1 := readAllCSV(t, path, []string{"a", "c"}, 1<<20)
		rows2, rej2, err2 := readAllCSV(t, path, []string{"a", "c"}, 7)
		if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("errors differ: %v / %v", err1, err2)
		}
		if err1 != nil {
			// The run stops (a quote never closed over whole lines): what
			// was read before the error is not a result.
			return
		}
		if !reflect.DeepEqual(rows1, rows2) || !reflect.DeepEqual(rej1, rej2) {
			t.Fatalf("chunked read differs:\n%q %q\n%q %q", rows1, rej1, rows2, rej2)
		}
		// Re-encode accepted rows and read them again: same values.
		var again []byte
		again = append(again, "a,b,c\n"...)
		src, err := openCSV(path, "", []string{"a", "b", "c"}, nil, EncodingUTF8, nil)
		if err != nil {
			return
		}
		var vals [][3][]byte
		scan(context.Background(), src, 1, func(_ int, b *batch) [][3][]byte {
			var out [][3][]byte
			for i := 0; i < b.n; i++ {
				out = append(out, [3][]byte{append([]byte(nil), b.cols[0].at(i)...), append([]byte(nil), b.cols[1].at(i)...), append([]byte(nil), b.cols[2].at(i)...)})
			}
			return out
		}, func(out [][3][]byte) error { vals = append(vals, out...); return nil })
		src.close()
		for _, v := range vals {
			if len(v[0])+len(v[1])+len(v[2]) == 0 {
				// an all-empty record is written as ",," which is fine
			}
			again = appendCSVField(again, v[0])
			again = append(again, ',')
			again = appendCSVField(again, v[1])
			again = append(again, ',')
			again = appendCSVField(again, v[2])
			again = append(again, '\n')
		}
		path2 := filepath.Join(dir, "u.csv")
		os.WriteFile(path2, again, 0o644)
		src2, err := openCSV(path2, "", []string{"a", "b", "c"}, nil, EncodingUTF8, nil)
		if err != nil {
			t.Fatalf("re-encoded file: %v", err)
		}
		defer src2.close()
		var n, rej int
		scan(context.Background(), src2, 1, func(_ int, b *batch) [2]int {
			for i := 0; i < b.n; i++ {
				want := vals[n+i]
				for c := 0; c < 3; c++ {
					if string(b.cols[c].at(i)) != string(want[c]) {
						t.Errorf("row %d col %d: %q, want %q", n+i, c, b.cols[c].at(i), want[c])
					}
				}
			}
			return [2]int{b.n, len(b.rejects)}
		}, func(k [2]int) error { n += k[0]; rej += k[1]; return nil })
		if n != len(vals) || rej != 0 {
			t.Fatalf("re-encoded: %d rows (%d rejects), want %d", n, rej, len(vals))
		}
	})
}
