package calendar

import (
	"fmt"
	"strings"
)

// Parse reads the holiday ConfigMap's text: one announced day per line,
// "date,kind,name" with kind holiday or workday (a make-up working day),
// e.g.
//
//	# 国务院办公厅关于2028年部分节假日安排的通知
//	date,kind,name
//	2028-01-01,holiday,元旦
//	2028-01-23,workday,春节
//
// Blank lines and lines starting with # are ignored; the header is
// optional. Every year that appears is taken as complete: list all of its
// holidays and make-up working days, or none.
func Parse(text string) ([]Special, error) {
	var out []Special
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "date,") {
			continue
		}
		fields := strings.Split(line, ",")
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("line %d: want date,kind[,name], got %q", i+1, line)
		}
		d, err := ParseDate(strings.TrimSpace(fields[0]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		var kind Kind
		switch strings.TrimSpace(fields[1]) {
		case "holiday":
			kind = Holiday
		case "workday":
			kind = Workday
		default:
			return nil, fmt.Errorf("line %d: kind %q: want holiday or workday", i+1, fields[1])
		}
		s := Special{Date: d, Kind: kind}
		if len(fields) == 3 {
			s.Name = strings.TrimSpace(fields[2])
		}
		out = append(out, s)
	}
	return out, nil
}

// FromConfig is New(Parse(text)).
func FromConfig(text string) (*Calendar, error) {
	days, err := Parse(text)
	if err != nil {
		return nil, err
	}
	return New(days)
}
