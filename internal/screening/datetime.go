package screening

import "encoding/binary"

// Date-times in the claims data are local wall-clock times without a zone
// ("2006-01-02 15:04:05"). They are kept as seconds since 1970-01-01 00:00:00
// of the same wall clock, so day(t) = t / 86400 is the calendar day as
// written and no time-zone arithmetic ever happens (docs/rules.md §2).

const secondsPerDay = 86400

// parseDateTime parses exactly "YYYY-MM-DD HH:MM:SS".
func parseDateTime(b []byte) (int64, bool) {
	if len(b) != 19 {
		return 0, false
	}
	t, ok := timeOfDay(b)
	if !ok {
		return 0, false
	}
	d, ok := parseDate(b[:10])
	if !ok {
		return 0, false
	}
	return int64(d)*secondsPerDay + t, true
}

// timeOfDay is " HH:MM:SS" after the date of b (19 bytes) in seconds.
func timeOfDay(b []byte) (int64, bool) {
	if b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	h, ok1 := two(b[11], b[12])
	m, ok2 := two(b[14], b[15])
	s, ok3 := two(b[17], b[18])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 59 {
		return 0, false
	}
	return int64(h*3600 + m*60 + s), true
}

// dateTimes is parseDateTime for a run of values that share a few dates
// (the lines of a visit, the visits of a day): the day of the previous
// value's date part is reused.
type dateTimes struct {
	// the previous date part "YYYY-MM-DD" as two loads (no call to compare)
	date8   uint64
	date2   uint16
	lastDay int64
	have    bool
}

func (c *dateTimes) parse(b []byte) (int64, bool) {
	if c.have && len(b) == 19 && binary.LittleEndian.Uint64(b) == c.date8 && binary.LittleEndian.Uint16(b[8:]) == c.date2 {
		if t, ok := timeOfDay(b); ok {
			return c.lastDay + t, true
		}
		return 0, false
	}
	t, ok := parseDateTime(b)
	if ok {
		c.date8, c.date2 = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint16(b[8:])
		c.have = true
		c.lastDay = int64(dayOf(t)) * secondsPerDay
	}
	return t, ok
}

// at is value i of c in seconds: a typed TIMESTAMP read as it is, else
// the text parsed.
func (c *dateTimes) at(col *column, i int) (int64, bool) {
	if t, ok := fastDateTime(col, i); ok {
		return t, true
	}
	return c.parse(col.at(i))
}

// parseDate parses exactly "YYYY-MM-DD" into days since 1970-01-01.
func parseDate(b []byte) (int32, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y1, ok1 := two(b[0], b[1])
	y2, ok2 := two(b[2], b[3])
	mo, ok3 := two(b[5], b[6])
	d, ok4 := two(b[8], b[9])
	if !ok1 || !ok2 || !ok3 || !ok4 || mo < 1 || mo > 12 || d < 1 {
		return 0, false
	}
	y := y1*100 + y2
	if k := y - tableFirstYear; uint(k) < tableYears {
		leap := yearLeap[k]
		if d > int(monthDays[leap][mo]) {
			return 0, false
		}
		return yearStart[k] + monthStart[leap][mo] + int32(d-1), true
	}
	if d > daysIn(y, mo) {
		return 0, false
	}
	return daysFromCivil(y, mo, d), true
}

// Day numbers of the years claims carry, looked up instead of computed:
// parseDate runs for every visit and for most fee lines, and the division
// of daysFromCivil was a sixth of its time.
const tableFirstYear, tableYears = 1900, 256

var (
	yearStart  [tableYears]int32 // daysFromCivil(y, 1, 1)
	yearLeap   [tableYears]uint8 // 1 in a leap year
	monthDays  = [2][13]uint8{{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}, {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}}
	monthStart [2][13]int32 // days of the year before month m
)

func init() {
	for k := range yearStart {
		y := tableFirstYear + k
		yearStart[k] = daysFromCivil(y, 1, 1)
		if isLeap(y) {
			yearLeap[k] = 1
		}
	}
	for leap := range monthStart {
		for m := 2; m <= 12; m++ {
			monthStart[leap][m] = monthStart[leap][m-1] + int32(monthDays[leap][m-1])
		}
	}
}

func two(a, b byte) (int, bool) {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	leap := 0
	if isLeap(y) {
		leap = 1
	}
	return int(monthDays[leap][m])
}

// daysFromCivil is the proleptic Gregorian day number (1970-01-01 = 0).
func daysFromCivil(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int32) (y, m, d int) {
	zz := int(z) + 719468
	era := zz / 146097
	if zz < 0 && zz%146097 != 0 {
		era--
	}
	doe := zz - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return
}

// dayOf returns the calendar day of a date-time (floor division).
func dayOf(t int64) int32 {
	if t < 0 {
		return int32((t - secondsPerDay + 1) / secondsPerDay)
	}
	return int32(t / secondsPerDay)
}

func formatDate(day int32) string { return string(appendDate(nil, day)) }

func formatDateTime(t int64) string { return string(appendDateTime(nil, t)) }

// appendDate appends day as 2006-01-02 (no allocation when b has room:
// typed Parquet columns are converted into one buffer per page).
func appendDate(b []byte, day int32) []byte {
	y, m, d := civilFromDays(day)
	return append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}

// appendDateTime appends t (seconds, wall clock) as 2006-01-02 15:04:05.
func appendDateTime(b []byte, t int64) []byte {
	day := dayOf(t)
	s := int(t - int64(day)*secondsPerDay)
	h, m, sec := s/3600, s/60%60, s%60
	b = appendDate(b, day)
	return append(b, ' ', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+sec/10), byte('0'+sec%10))
}
