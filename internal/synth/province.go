package synth

import (
	"fmt"
	"math"
	"time"
)

// Config chooses the province to generate. The zero value is not useful;
// start from DefaultConfig.
type Config struct {
	// Seed makes the output reproducible: the same Config gives the same
	// bytes.
	Seed uint64
	// Cities is how many cities of Jiangsu (in code order) the province has,
	// 1..13.
	Cities int
	// OnlyCities, when not empty, restricts the output to these admdvs codes
	// (--city). The province is planned as a whole first, so a city's
	// extract is identical to its part of the full province.
	OnlyCities []string
	// InstitutionsPerCity is the number of designated institutions per city
	// (hospitals, clinics, pharmacies).
	InstitutionsPerCity int
	// FeeLines is the approximate number of background fee lines of the
	// whole province (injected violations come on top).
	FeeLines int64
	// From is the first day of the claims window and Days its length.
	From time.Time
	Days int
	// ViolationRate is the share of visits that get an injected violation
	// (0 = a clean background); every rule gets at least one when > 0.
	ViolationRate float64
}

// DefaultConfig is a small province: 13 cities, 40 institutions each,
// about 200 000 fee lines in 2024.
func DefaultConfig() Config {
	return Config{
		Seed:                1,
		Cities:              13,
		InstitutionsPerCity: 40,
		FeeLines:            200_000,
		From:                time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Days:                366,
	}
}

// Institution is a designated institution (定点医药机构), one row of the
// institutions table.
type Institution struct {
	Code      string // fixmedins_code, e.g. H32010000001
	Name      string
	CityCode  string // admdvs
	Level     int    // hosp_lv: 3,2,1 hospitals; 0 clinics and pharmacies
	Ownership string // public | private
	Type      string // hospital | clinic | pharmacy

	index int // position in its city
	// slots is the number of episodes per block of the background: each
	// block, the persons in slot range [slotStart, slotStart+slots) of the
	// city's person permutation come here once.
	slots     int
	slotStart int
}

// cityPlan is one city of the planned province.
type cityPlan struct {
	City
	insts   []*Institution
	persons int // background persons (psn index 0..persons-1)
	// scenario persons are numbered from persons upwards.
	nextScenarioPerson int
	scenarioPersons    []*person
	index              int
	perm               []affine // per block person permutation
}

// affine is the bijection slot → person index p = (a*s + c) mod n.
type affine struct{ a, c, n uint64 }

func (f affine) apply(s int) int { return int((f.a*uint64(s) + f.c) % f.n) }

// blockDays is the length of a scheduling block. A background person is
// treated by at most one institution per block and has at most one episode
// per block, and an inpatient stay stays inside its block; that is how the
// background avoids overlapping stays and other cross-visit violations
// without remembering anything about persons (see DESIGN §5 and the package
// doc).
const blockDays = 30

// marginDays at the end of each block stay free of background care so that
// an injected charge after discharge still falls inside the block.
const marginDays = 4

type province struct {
	cfg     Config
	cities  []*cityPlan
	nBlocks int
	byCode  map[string]*Institution
}

func planProvince(cfg Config, avgLines map[string]float64) (*province, error) {
	if cfg.Cities < 1 || cfg.Cities > len(Jiangsu) {
		return nil, fmt.Errorf("cities must be 1..%d, not %d", len(Jiangsu), cfg.Cities)
	}
	if cfg.InstitutionsPerCity < 1 {
		return nil, fmt.Errorf("institutions per city must be at least 1")
	}
	if cfg.Days < blockDays {
		return nil, fmt.Errorf("the claims window must be at least %d days", blockDays)
	}
	p := &province{cfg: cfg, nBlocks: cfg.Days / blockDays, byCode: map[string]*Institution{}}
	totalPop := 0
	for _, c := range Jiangsu[:cfg.Cities] {
		totalPop += c.Population
	}
	for ci, c := range Jiangsu[:cfg.Cities] {
		cp := &cityPlan{City: c, index: ci}
		cp.insts = makeInstitutions(cfg.Seed, c, cfg.InstitutionsPerCity)
		// Episodes: the city's share of lines, spread by institution weight.
		cityLines := float64(cfg.FeeLines) * float64(c.Population) / float64(totalPop)
		var wsum float64
		for _, in := range cp.insts {
			wsum += instWeight(in)
		}
		slot := 0
		for _, in := range cp.insts {
			lines := cityLines * instWeight(in) / wsum
			episodes := lines / avgLines[kindKey(in)]
			in.slots = max(1, int(math.Round(episodes/float64(p.nBlocks))))
			in.slotStart = slot
			slot += in.slots
			p.byCode[in.Code] = in
		}
		// 70 % of the person-blocks have an episode; the rest stay home.
		cp.persons = int(math.Ceil(float64(slot) / 0.7))
		cp.nextScenarioPerson = cp.persons
		for b := 0; b < p.nBlocks; b++ {
			h := mix(cfg.Seed, mix(uint64(ci+1), uint64(b+1)))
			n := uint64(cp.persons)
			a := 1 + h%max(n-1, 1)
			for gcd(a, n) != 1 {
				a++
			}
			cp.perm = append(cp.perm, affine{a: a, c: mix(h, 7) % n, n: n})
		}
		p.cities = append(p.cities, cp)
	}
	return p, nil
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// instWeight is the relative number of episodes (patients) an institution
// sees in the background.
func instWeight(in *Institution) float64 {
	switch {
	case in.Type == "pharmacy":
		return 2
	case in.Type == "clinic":
		return 1.5
	case in.Level == 3:
		return 30
	case in.Level == 2:
		return 10
	default:
		return 3
	}
}

// kindKey names the institution kinds whose episodes look alike.
func kindKey(in *Institution) string { return fmt.Sprintf("%s/%d", in.Type, in.Level) }

// institution mix for small sizes: tertiary, secondary, primary, clinic,
// pharmacy counts.
var smallMix = [][5]int{{0, 0, 0, 0, 0}, {1, 0, 0, 0, 0}, {1, 0, 0, 0, 1}, {2, 0, 0, 0, 1}, {2, 1, 0, 0, 1},
	{2, 1, 0, 1, 1}, {2, 1, 1, 1, 1}, {2, 1, 1, 1, 2}}

// instMix splits n institutions into tertiary (三级), secondary (二级),
// primary (一级) hospitals, clinics (诊所/门诊部) and retail pharmacies (定点零售
// 药店), roughly like a Jiangsu city's designated list, with at least two
// tertiary hospitals from n >= 3.
func instMix(n int) [5]int {
	if n < len(smallMix) {
		return smallMix[n]
	}
	t := max(2, int(math.Round(0.08*float64(n))))
	s := max(1, int(math.Round(0.15*float64(n))))
	p := int(math.Round(0.20 * float64(n)))
	ph := int(math.Round(0.30 * float64(n)))
	c := n - t - s - p - ph
	return [5]int{t, s, p, c, ph}
}

var (
	tertiaryNames = []string{"第一人民医院", "中医院", "第二人民医院", "第三人民医院", "中西医结合医院", "第四人民医院", "第五人民医院", "儿童医院"}
	streets       = []string{"城东", "城西", "城南", "城北", "新城", "湖滨", "东风", "解放", "人民", "建设", "和平", "花园", "文昌", "长江", "运河", "金山"}
	surnames      = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "朱", "马", "胡", "郭"}
	brands        = []string{"老百姓", "国大", "益丰", "大参林", "百信", "同仁堂", "先声", "漱玉", "一心堂"}
	privateHosp   = []string{"仁爱医院", "明德医院", "康复医院", "博爱医院", "瑞慈医院", "济民医院"}
)

func makeInstitutions(seed uint64, c City, n int) []*Institution {
	m := instMix(n)
	r := newRand(seed, hashString(c.Code), 0x1457)
	var out []*Institution
	hSerial, pSerial := 0, 0
	add := func(typ string, level int, privateShare float64, name func(k int) string) {
		in := &Institution{CityCode: c.Code, Level: level, Type: typ, Ownership: "public", index: len(out)}
		if r.Float64() < privateShare {
			in.Ownership = "private"
		}
		if typ == "pharmacy" {
			pSerial++
			in.Code = fmt.Sprintf("P%s%05d", c.Code, pSerial)
			in.Name = name(pSerial)
		} else {
			hSerial++
			in.Code = fmt.Sprintf("H%s%05d", c.Code, hSerial)
			in.Name = name(hSerial)
		}
		out = append(out, in)
	}
	district := func(k int) string { return c.Districts[k%len(c.Districts)] }
	city := c.Name[:len(c.Name)-len("市")]
	for k := 0; k < m[0]; k++ {
		// The first two tertiary hospitals are the city's public flagships.
		share := 0.15
		if k < 2 {
			share = 0
		}
		add("hospital", 3, share, func(int) string {
			if k < len(tertiaryNames) {
				return city + "市" + tertiaryNames[k]
			}
			return fmt.Sprintf("%s市第%d人民医院", city, k+1)
		})
		if out[len(out)-1].Ownership == "private" {
			out[len(out)-1].Name = city + privateHosp[k%len(privateHosp)]
		}
	}
	for k := 0; k < m[1]; k++ {
		add("hospital", 2, 0.3, func(int) string {
			if k < len(c.Districts) {
				return district(k) + "区人民医院"
			}
			return fmt.Sprintf("%s第%d医院", district(k), k/len(c.Districts)+2)
		})
		if in := out[len(out)-1]; in.Ownership == "private" {
			in.Name = district(k) + privateHosp[(k+3)%len(privateHosp)]
		}
	}
	for k := 0; k < m[2]; k++ {
		add("hospital", 1, 0.1, func(int) string {
			return fmt.Sprintf("%s%s社区卫生服务中心", district(k), streets[(k/len(c.Districts))%len(streets)])
		})
	}
	for k := 0; k < m[3]; k++ {
		add("clinic", 0, 0.85, func(s int) string {
			if k%3 == 2 {
				return fmt.Sprintf("%s%s门诊部", district(k), streets[(k*7)%len(streets)])
			}
			return fmt.Sprintf("%s%s氏诊所(%d)", district(k), surnames[(k*5+s)%len(surnames)], s)
		})
	}
	for k := 0; k < m[4]; k++ {
		add("pharmacy", 0, 0.92, func(s int) string {
			return fmt.Sprintf("%s大药房(%s%s店)", brands[(k+s)%len(brands)], district(k), streets[(k*3)%len(streets)])
		})
	}
	return out
}

// person is a background or scenario person (参保人).
type person struct {
	psnNo    string
	gender   byte // 1 male, 2 female
	birthDay int  // day index relative to the window start (negative)
	deathDay int  // day index of death, or noDeath
}

const noDeath = math.MaxInt32

// backgroundPerson derives person idx of a city from the seed alone.
func (p *province) backgroundPerson(cp *cityPlan, idx int) person {
	h := mix(p.cfg.Seed, mix(hashString(cp.Code), uint64(idx)+0xbeef))
	ps := person{psnNo: psnNo(cp.Code, idx), gender: byte(1 + h%2), deathDay: noDeath}
	// Patients skew old: 12 % children, 50 % 15-59, 38 % 60-95.
	u := unit(mix(h, 1))
	var age int
	switch {
	case u < 0.12:
		age = 1 + int(unit(mix(h, 2))*13)
	case u < 0.62:
		age = 15 + int(unit(mix(h, 2))*45)
	default:
		age = 60 + int(unit(mix(h, 2))*36)
	}
	ps.birthDay = -age*365 - int(unit(mix(h, 3))*365) - 1
	// About 2 % die during the window (more among the old).
	pDeath := 0.01
	if age >= 75 {
		pDeath = 0.06
	}
	if unit(mix(h, 4)) < pDeath {
		ps.deathDay = int(unit(mix(h, 5)) * float64(p.cfg.Days))
	}
	return ps
}

func psnNo(city string, idx int) string { return fmt.Sprintf("%s%010d", city, idx) }

// ageAt returns the age in whole years at day index d.
func (ps *person) ageAt(d int) int {
	return (d - ps.birthDay) * 100 / 36525
}
