package oracle

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// floorColumns are the columns `flycheck screen` reads of each table when
// no loaded rule needs diagnoses or persons (internal/screening/table.go).
var floorColumns = []struct {
	table string
	cols  []string
}{
	{"institutions", []string{"fixmedins_code", "fixmedins_name", "admdvs", "hosp_lv", "ownership", "fixmedins_type"}},
	{"visits", []string{"mdtrt_id", "psn_no", "fixmedins_code", "med_type", "begntime", "endtime", "gend", "age"}},
	{"fee_lines", []string{"feedetl_sn", "mdtrt_id", "setl_id", "psn_no", "fixmedins_code", "hilist_code", "cnt", "pric", "det_item_fee_sumamt", "fee_ocur_time"}},
}

// ReadFloor is DuckDB's read floor (DESIGN §7): every value of the columns
// the engine reads, decoded and hashed (so that no column can be skipped),
// and nothing else. It returns the number of fee lines.
func ReadFloor(ctx context.Context, db *sql.DB, input, format string, progress func(string)) (int64, error) {
	if format == "" {
		format = "csv"
		if _, err := os.Stat(filepath.Join(input, "fee_lines.parquet")); err == nil {
			format = "parquet"
		}
	}
	var lines int64
	for _, t := range floorColumns {
		if progress != nil {
			progress("read " + t.table)
		}
		path := filepath.Join(input, t.table+"."+format)
		q := fmt.Sprintf("SELECT count(*), CAST(sum(hash(%s)) AS VARCHAR) FROM %s", strings.Join(t.cols, ", "), reader(path, format))
		var n int64
		var h sql.NullString
		if err := db.QueryRowContext(ctx, q).Scan(&n, &h); err != nil {
			return 0, fmt.Errorf("read floor: %s: %w", path, err)
		}
		if t.table == "fee_lines" {
			lines = n
		}
	}
	return lines, nil
}
