package sampling

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadFrame: whatever a frame ConfigMap holds, ReadFrame returns a
// frame or an error naming the line, never panics; a frame it returns has
// unique codes, valid rows, and writes back to a file that reads the same.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("code,cityCode,name,level,ownership,type,risk\nH1,320100,南京医院,3,public,hospital,0.5\nP2,320100,药房,0,private,pharmacy,\n"))
	f.Add([]byte("\xef\xbb\xbfcode,cityCode,name,level,ownership,type,risk\nH1,320100,\"a,b\",2,public,hospital,1.000000\n"))
	f.Add([]byte("code,cityCode,name,level,ownership,type,risk\nH1,320100,x,9,public,hospital,-1\n"))
	f.Add([]byte("code,cityCode,name,level,ownership,type,risk\nH1,320100,x,3,public,hospital,0\nH1,320100,y,3,public,hospital,0\n"))
	f.Add([]byte("code,city\n"))
	f.Add([]byte("code,cityCode,name,level,ownership,type,risk\n\"unterminated,320100,x,3,public,hospital,0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := ReadFrame(bytes.NewReader(data))
		if err != nil {
			if msg := err.Error(); msg == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		seen := map[string]bool{}
		for _, in := range frame {
			if seen[in.Code] {
				t.Fatalf("duplicate code %q accepted", in.Code)
			}
			seen[in.Code] = true
		}
		var buf bytes.Buffer
		if err := WriteFrame(&buf, frame); err != nil {
			t.Fatalf("a frame that was read cannot be written: %v", err)
		}
		again, err := ReadFrame(strings.NewReader(buf.String()))
		if err != nil {
			t.Fatalf("a written frame does not read back: %v\n%s", err, buf.String())
		}
		d1, err1 := Digest(frame)
		d2, err2 := Digest(again)
		if err1 != nil || err2 != nil || d1 != d2 {
			t.Fatalf("the frame changed through write and read: %s %v / %s %v", d1, err1, d2, err2)
		}
	})
}
