package synth

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Quirky CSV: the same extract written the way national and provincial
// platforms export it (Options.Quirks), so that the screener's normalisation
// (docs/data-format.md, "Values") is exercised on data whose ground truth
// is known. Every quirk is one the screener accepts, so the findings are
// those of the clean extract: codes with white space around them or
// full-width digits, date-times in the other accepted layouts and with
// fractional seconds, amounts with thousands separators, headers in upper
// case or padded with spaces, CRLF line ends, a BOM on some files, names
// with commas and line breaks (quoted). The quirks are drawn from their own
// random stream, so the rows themselves do not change.

// quirkRate is the share of values given a quirk.
const quirkRate = 0.15

type valueKind int

const (
	kCode valueKind = iota
	kName
	kInt
	kDecimal
	kDateTime
	kDate
)

var quirkColumns = map[string][]valueKind{
	"institutions": {kCode, kName, kCode, kInt, kCode, kCode},
	"visits":       {kCode, kCode, kCode, kCode, kDateTime, kDateTime, kInt, kInt},
	"fee_lines":    {kCode, kCode, kCode, kCode, kCode, kCode, kName, kDecimal, kDecimal, kDecimal, kDateTime},
	"diagnoses":    {kCode, kCode, kInt, kName},
	"persons":      {kCode, kDate},
}

// applyQuirks rewrites the CSV tables of dir in place.
func applyQuirks(dir string, seed uint64, gb18030 bool) error {
	for i, table := range []string{"institutions", "visits", "fee_lines", "diagnoses", "persons"} {
		r := newRand(seed, hashString("quirks/"+table))
		if err := quirkTable(filepath.Join(dir, table+".csv"), table, quirkColumns[table], r, gb18030, i); err != nil {
			return err
		}
	}
	return nil
}

func quirkTable(path, table string, kinds []valueKind, r *rand.Rand, gb18030 bool, n int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if gb18030 {
		if data, err = simplifiedchinese.GB18030.NewDecoder().Bytes(data); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = len(kinds)
	cr.ReuseRecord = true
	var out bytes.Buffer
	// A BOM on every other table: the reader skips it in every mode.
	if n%2 == 1 {
		out.WriteString("\uFEFF")
	}
	w := csv.NewWriter(&out)
	w.UseCRLF = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	hdr := make([]string, len(header))
	for i, h := range header {
		switch {
		case table == "visits" || table == "fee_lines":
			hdr[i] = strings.ToUpper(h)
		case table == "institutions" && i%2 == 1:
			hdr[i] = " " + h + " "
		default:
			hdr[i] = h
		}
	}
	if err := w.Write(hdr); err != nil {
		return err
	}
	rec := make([]string, len(kinds))
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, v := range row {
			rec[i] = v
			if v != "" && r.Float64() < quirkRate {
				rec[i] = quirk(r, kinds[i], v)
			}
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	res := out.Bytes()
	if gb18030 {
		// The GB18030 BOM is U+FEFF encoded, 84 31 95 33.
		if res, err = simplifiedchinese.GB18030.NewEncoder().Bytes(res); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	bw.Write(res)
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// quirk rewrites one non-empty value in a form the screener accepts.
func quirk(r *rand.Rand, k valueKind, v string) string {
	switch k {
	case kCode, kInt:
		switch r.IntN(5) {
		case 0:
			return v + " "
		case 1:
			return " " + v
		case 2:
			return v + "\u3000"
		case 3:
			return fullWidthDigits(v)
		default:
			return "\t" + fullWidth(v) + " "
		}
	case kName:
		switch r.IntN(3) {
		case 0:
			return v + ", 副本"
		case 1:
			return v + "\n(续)"
		default:
			return `"` + v + `"`
		}
	case kDecimal:
		switch r.IntN(3) {
		case 0:
			if t, ok := thousands(v); ok {
				return t
			}
			return " " + v
		case 1:
			return fullWidthDigits(v)
		default:
			return v + "\u00a0"
		}
	case kDateTime:
		if len(v) != 19 {
			return v
		}
		y, mo, d, rest := v[:4], strings.TrimPrefix(v[5:7], "0"), strings.TrimPrefix(v[8:10], "0"), v[11:]
		switch r.IntN(5) {
		case 0:
			return y + "/" + mo + "/" + d + " " + strings.TrimPrefix(rest, "0")
		case 1:
			return v[:10] + "T" + rest
		case 2:
			return strings.NewReplacer("-", "", " ", "", ":", "").Replace(v)
		case 3:
			return v + ".000"
		default:
			return fullWidthDigits(v[:10]) + " " + rest + ".5"
		}
	case kDate:
		if len(v) != 10 {
			return v
		}
		if r.IntN(2) == 0 {
			return v[:4] + "/" + strings.TrimPrefix(v[5:7], "0") + "/" + strings.TrimPrefix(v[8:10], "0")
		}
		return strings.ReplaceAll(v, "-", "")
	}
	return v
}

// thousands groups the integer digits of a decimal by three (1234.50 →
// 1,234.50); ok is false when there is nothing to group.
func thousands(v string) (string, bool) {
	sign, rest := "", v
	if strings.HasPrefix(rest, "-") {
		sign, rest = "-", rest[1:]
	}
	intPart, frac, _ := strings.Cut(rest, ".")
	if len(intPart) <= 3 {
		return v, false
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := sign + b.String()
	if frac != "" || strings.Contains(rest, ".") {
		out += "." + frac
	}
	return out, true
}

// fullWidthDigits writes the ASCII digits of v as full-width digits.
func fullWidthDigits(v string) string {
	return strings.Map(func(c rune) rune {
		if c >= '0' && c <= '9' {
			return c - '0' + '０'
		}
		return c
	}, v)
}

// fullWidth writes every printable ASCII character of v in full width.
func fullWidth(v string) string {
	return strings.Map(func(c rune) rune {
		if c > ' ' && c <= '~' {
			return c + 0xFEE0
		}
		return c
	}, v)
}
