package oracle

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"
)

// The normalisation of docs/data-format.md ("Values") as SQL, written from
// that page rather than from the Go engine, so that the differential test
// checks one against the other: macros that rewrite a value into its
// documented form (or leave it, to fail the strict validation after them).
//
//	fc_code  full-width forms U+FF01–U+FF5E → ASCII, U+3000 → space, then
//	         space, TAB, U+00A0 trimmed at both ends
//	fc_dec   fc_code, then thousands separators (-?D{1,3}(,DDD)+(.D{1,4})?)
//	         removed
//	fc_ts    fc_code, then 2006-01-02[ T]15:04:05, 2006/1/2 15:04:05 (one- or
//	         two-digit month, day, hour) and 20060102150405, each with an
//	         optional .fraction (dropped), rewritten as 2006-01-02 15:04:05
//	fc_date  fc_code, then 2006/1/2 and 20060102 rewritten as 2006-01-02
//	fc_ends  fc_code when the value begins or ends with anything but
//	         printable, non-space ASCII, else the value as read (feedetl_sn,
//	         setl_id)
func normalizeMacros() []stmt {
	var from, to strings.Builder
	for r := rune(0xFF01); r <= 0xFF5E; r++ {
		from.WriteRune(r)
		to.WriteRune(r - 0xFEE0)
	}
	from.WriteRune('\u3000')
	to.WriteRune(' ')
	const (
		dashTS  = `'[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?'`
		slashTS = `'[0-9]{4}/[0-9]{1,2}/[0-9]{1,2} [0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?'`
		compTS  = `'[0-9]{14}(\.[0-9]{1,9})?'`
	)
	return []stmt{
		{"macro fc_code", fmt.Sprintf(`CREATE OR REPLACE TEMP MACRO fc_code(s) AS trim(translate(coalesce(CAST(s AS VARCHAR), ''), %s, %s), %s)`,
			lit(from.String()), lit(to.String()), lit(" \t\u00a0"))},
		{"macro fc_ends", `CREATE OR REPLACE TEMP MACRO fc_ends(s) AS CASE
  WHEN regexp_matches(coalesce(CAST(s AS VARCHAR), ''), '^[^!-~]|[^!-~]$') THEN fc_code(s)
  ELSE coalesce(CAST(s AS VARCHAR), '') END`},
		{"macro fc_dec", `CREATE OR REPLACE TEMP MACRO fc_dec(s) AS CASE
  WHEN regexp_full_match(fc_code(s), '-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,4})?') THEN replace(fc_code(s), ',', '')
  ELSE fc_code(s) END`},
		// p: the parts of a date-time split at its separators.
		{"macro fc_canon", `CREATE OR REPLACE TEMP MACRO fc_canon(p) AS
  p[1] || '-' || lpad(p[2], 2, '0') || '-' || lpad(p[3], 2, '0') || ' ' || lpad(p[4], 2, '0') || ':' || p[5] || ':' || p[6]`},
		{"macro fc_ts", fmt.Sprintf(`CREATE OR REPLACE TEMP MACRO fc_ts(s) AS CASE
  WHEN regexp_full_match(fc_code(s), %s) OR regexp_full_match(fc_code(s), %s)
    THEN fc_canon(string_split_regex(fc_code(s), '[-/ T:.]'))
  WHEN regexp_full_match(fc_code(s), %s)
    THEN substr(fc_code(s), 1, 4) || '-' || substr(fc_code(s), 5, 2) || '-' || substr(fc_code(s), 7, 2) || ' ' ||
         substr(fc_code(s), 9, 2) || ':' || substr(fc_code(s), 11, 2) || ':' || substr(fc_code(s), 13, 2)
  ELSE fc_code(s) END`, dashTS, slashTS, compTS)},
		{"macro fc_date", `CREATE OR REPLACE TEMP MACRO fc_date(s) AS CASE
  WHEN regexp_full_match(fc_code(s), '[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}')
    THEN split_part(fc_code(s), '/', 1) || '-' || lpad(split_part(fc_code(s), '/', 2), 2, '0') || '-' || lpad(split_part(fc_code(s), '/', 3), 2, '0')
  WHEN regexp_full_match(fc_code(s), '[0-9]{8}')
    THEN substr(fc_code(s), 1, 4) || '-' || substr(fc_code(s), 5, 2) || '-' || substr(fc_code(s), 7, 2)
  ELSE fc_code(s) END`},
	}
}

// values renders the value expressions of the staging SQL: normalised, or
// exactly as read (strict).
type values struct{ strict bool }

func (v values) raw(col string) string { return fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", col) }

func (v values) code(col string) string {
	if v.strict {
		return v.raw(col)
	}
	return fmt.Sprintf("fc_code(%s)", col)
}

// ends is code for the columns the engine checks at their ends only.
func (v values) ends(col string) string {
	if v.strict {
		return v.raw(col)
	}
	return fmt.Sprintf("fc_ends(%s)", col)
}

func (v values) decimal(col string) string {
	if v.strict {
		return v.raw(col)
	}
	return fmt.Sprintf("fc_dec(%s)", col)
}

func (v values) dateTime(col string) string {
	if v.strict {
		return v.raw(col)
	}
	return fmt.Sprintf("fc_ts(%s)", col)
}

func (v values) date(col string) string {
	if v.strict {
		return v.raw(col)
	}
	return fmt.Sprintf("fc_date(%s)", col)
}

// foldHeaders recreates view raw_<table> with its columns renamed to their
// lower-case, trimmed names (docs/data-format.md: headers match ignoring
// case and surrounding white space), when some name differs.
func foldHeaders(ctx context.Context, db *sql.DB, view, from string) error {
	rows, err := db.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE "+view+")")
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	changed := false
	sel := make([]string, len(names))
	for i, n := range names {
		f := strings.ToLower(strings.TrimFunc(n, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }))
		changed = changed || f != n
		sel[i] = fmt.Sprintf("%s AS %s", ident(n), ident(f))
	}
	if !changed {
		return nil
	}
	_, err = db.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT %s FROM %s", view, strings.Join(sel, ", "), from))
	return err
}

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
