package sampling

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

const header = "code,cityCode,name,level,ownership,type,risk\n"

func TestReadFrame(t *testing.T) {
	in := "\xef\xbb\xbf" + header +
		"H1,320100,\"南京鼓楼医院, 本部\",3,public,hospital,12.5\n" +
		"H2,320100,药房,0,private,pharmacy,\n"
	frame, err := ReadFrame(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Institution{
		{Code: "H1", CityCode: "320100", Name: "南京鼓楼医院, 本部", Level: 3, Ownership: "public", Type: "hospital", Risk: 12_500_000},
		{Code: "H2", CityCode: "320100", Name: "药房", Level: 0, Ownership: "private", Type: "pharmacy", Risk: 0},
	}
	if !slices.Equal(frame, want) {
		t.Fatalf("got %+v\nwant %+v", frame, want)
	}
}

func TestReadFrameErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "frame is empty"},
		{"header order", "cityCode,code,name,level,ownership,type,risk\n", `line 1: header is "cityCode,code`},
		{"header case", "Code,cityCode,name,level,ownership,type,risk\n", "line 1: header"},
		{"short row", header + "H1,320100,a,3,public,hospital,1\nH2,320100,b,3\n", "line 3"},
		{"level", header + "H1,320100,a,4,public,hospital,1\n", `line 2: level "4"`},
		{"level empty", header + "H1,320100,a,,public,hospital,1\n", `line 2: level ""`},
		{"negative", header + "H1,320100,a,3,public,hospital,1\nH2,320100,b,2,public,hospital,-1\n", "line 3: risk \"-1\" is negative"},
		{"7 decimals", header + "H1,320100,a,3,public,hospital,0.1234567\n", "line 2: risk \"0.1234567\" has more than 6 decimal places"},
		{"duplicate", header + "H1,320100,a,3,public,hospital,1\nH2,320100,b,3,public,hospital,1\nH1,320200,c,1,public,hospital,0\n", `line 4: duplicate code "H1" (first on line 2)`},
		{"empty code", header + ",320100,a,3,public,hospital,1\n", "line 2: code is empty"},
		{"empty city", header + "H1,,a,3,public,hospital,1\n", "line 2: institution \"H1\": cityCode is empty"},
		{"tab", header + "\"H\t1\",320100,a,3,public,hospital,1\n", "TAB"},
		{"spaces", header + "H1, 320100,a,3,public,hospital,1\n", "leading or trailing spaces"},
		{"quoted newline in type", header + "H1,320100,a,3,public,\"hos\npital\",1\n", "line break"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFrame(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// Row errors are FrameErrors with the line, for callers that want it.
	_, err := ReadFrame(strings.NewReader(header + "H1,320100,a,9,public,hospital,1\n"))
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Line != 2 {
		t.Fatalf("error %v is not a FrameError on line 2", err)
	}
}

func TestWriteReadFrameRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	frame := randomFrame(rng, 4, 20)
	frame[0].Name = `引号 "quoted", 逗号`
	var buf bytes.Buffer
	if err := WriteFrame(&buf, frame); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFrame(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, frame) {
		t.Fatal("frame changed in a write/read round trip")
	}
}

func TestMergeFrames(t *testing.T) {
	a := []Institution{{Code: "A", CityCode: "320100"}}
	b := []Institution{{Code: "B", CityCode: "320200"}}
	m, err := MergeFrames(a, b)
	if err != nil || len(m) != 2 {
		t.Fatalf("MergeFrames = %v, %v", m, err)
	}
	if _, err := MergeFrames(a, b, []Institution{{Code: "A", CityCode: "320300"}}); err == nil ||
		!strings.Contains(err.Error(), `duplicate code "A"`) {
		t.Fatalf("MergeFrames with a repeated code: err = %v", err)
	}
}
