package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/roster"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// readRosters reads each file as a frame CSV when it starts with the
// frame's header, else as a bureau's roster (`flycheck roster import`'s
// reader, documented column names), and merges them: an institution in two
// files is an error, as in a fly-check's merged frames.
func readRosters(files []string) ([]sampling.Institution, error) {
	frames := make([][]sampling.Institution, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		first, _, _ := bufio.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))).ReadLine()
		if strings.TrimSpace(string(first)) == strings.Join(sampling.FrameHeader, ",") {
			frame, err := sampling.ReadFrame(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			frames = append(frames, frame)
			continue
		}
		res, err := roster.ReadFile(f, roster.Options{})
		if err != nil {
			return nil, err
		}
		frames = append(frames, res.Frame)
	}
	all, err := sampling.MergeFrames(frames...)
	if err != nil {
		return nil, fmt.Errorf("--roster: %w", err)
	}
	return all, nil
}

func samplePolicy(p flycheckv1.SamplingPolicy) sampling.Policy {
	return sampling.Policy{MinPercent: int(p.MinPercent), MinTertiaryPerCity: int(p.MinTertiaryPerCity),
		MinTotal: int(p.MinTotal), RiskBasedPercent: int(p.RiskBasedPercent)}
}

// recheckPolicy is a city's share of a Recheck phase's policy: the
// operator draws each city on its own and splits minTotal evenly
// (controllers.createRecheckSamples).
func recheckPolicy(p flycheckv1.SamplingPolicy, cities int) flycheckv1.SamplingPolicy {
	if cities > 0 {
		p.MinTotal = (p.MinTotal + int32(cities) - 1) / int32(cities)
	}
	return p
}

// screeningBefore is the screening phase whose frame a sampling phase
// draws from, if any (controllers.cityFrameSource).
func screeningBefore(c *flycheckv1.Campaign, ph *flycheckv1.Phase) string {
	best := ""
	bestStart := ""
	for _, p := range c.Spec.Phases {
		if p.Screening == nil {
			continue
		}
		ps, s := string(p.Start), string(ph.Start)
		if len(ps) != len(s) {
			ps, s = ps[:10], s[:10]
		}
		if ps <= s && (best == "" || bestStart <= string(p.Start)) {
			best, bestStart = p.Name, string(p.Start)
		}
	}
	return best
}

// writePolicies explains, without a roster, what each sampling phase asks.
func (p *campaignPlan) writePolicies(w io.Writer) {
	c := p.camp
	header := false
	for i := range c.Spec.Phases {
		ph := &c.Spec.Phases[i]
		s := ph.Sampling
		if s == nil {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nSamples (give --roster to size them per city)")
			header = true
		}
		quota := fmt.Sprintf("each city n = max(ceil(%d%% × N), %d) of its N institutions, the first %d among its tertiary hospitals",
			s.MinPercent, s.MinTertiaryPerCity, s.MinTertiaryPerCity)
		switch s.Purpose {
		case flycheckv1.PurposeFlyCheck:
			fmt.Fprintf(w, "%s: FlyCheck, one province-wide sample in %s: %s", ph.Name, c.Spec.ProvinceNamespace, quota)
			if s.MinTotal > 0 {
				fmt.Fprintf(w, "; topped up to %d from any city", s.MinTotal)
			}
		default:
			fmt.Fprintf(w, "%s: Recheck, one sample per city in its namespace: %s", ph.Name, quota)
			if s.MinTotal > 0 {
				share := recheckPolicy(s.SamplingPolicy, len(c.Spec.Cities)).MinTotal
				fmt.Fprintf(w, "; at least ceil(%d / %d) = %d in each city", s.MinTotal, len(c.Spec.Cities), share)
			}
		}
		if s.RiskBasedPercent > 0 {
			fmt.Fprintf(w, "; %d%% of the rest by risk", s.RiskBasedPercent)
		}
		fmt.Fprintln(w, ".")
	}
}

// writeSizes prints each sampling phase's sample per city on the roster.
func (p *campaignPlan) writeSizes(w io.Writer, frame []sampling.Institution, files []string) error {
	c := p.camp
	byCity := map[string][]sampling.Institution{}
	for _, in := range frame {
		byCity[in.CityCode] = append(byCity[in.CityCode], in)
	}
	var inCampaign []sampling.Institution
	for _, city := range c.Spec.Cities {
		inCampaign = append(inCampaign, byCity[city.Code]...)
		delete(byCity, city.Code)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	fmt.Fprintf(w, "\nSamples on the roster (%s: %d institutions of the campaign's cities)\n", strings.Join(names, ", "), len(inCampaign))
	if len(byCity) > 0 {
		other := 0
		for _, ins := range byCity {
			other += len(ins)
		}
		fmt.Fprintf(w, "Left out: %d %s of city codes the campaign does not list (%s).\n", other, plural(other, "institution", "institutions"),
			strings.Join(sortedKeys(byCity), ", "))
	}
	any := false
	for i := range c.Spec.Phases {
		ph := &c.Spec.Phases[i]
		if ph.Sampling == nil {
			continue
		}
		any = true
		fmt.Fprintf(w, "\n%s", ph.Name)
		if ph.DisplayName != "" {
			fmt.Fprintf(w, " (%s)", ph.DisplayName)
		}
		fmt.Fprintf(w, ": %s sample, %s.\n", ph.Sampling.Purpose, policyText(ph.Sampling.SamplingPolicy))
		if sc := screeningBefore(c, ph); sc != "" && ph.Sampling.Purpose != flycheckv1.PurposeFlyCheck {
			fmt.Fprintf(w, "The operator draws from the frame of screening phase %s; sized here on the roster.\n", sc)
		}
		var err error
		if ph.Sampling.Purpose == flycheckv1.PurposeFlyCheck {
			err = p.writeFlyCheckSizes(w, ph, inCampaign)
		} else {
			err = p.writeRecheckSizes(w, ph, inCampaign)
		}
		if err != nil {
			return fmt.Errorf("phase %s: %w", ph.Name, err)
		}
	}
	if !any {
		fmt.Fprintln(w, "No phase samples.")
	}
	return nil
}

var sizeHeader = []string{"CITY", "DISPLAY NAME", "INSTITUTIONS", "TERTIARY", "QUOTA", "TERTIARY QUOTA", "TOP-UP", "SAMPLE", "SHORT OF"}

func (p *campaignPlan) writeRecheckSizes(w io.Writer, ph *flycheckv1.Phase, frame []sampling.Institution) error {
	cities := p.camp.Spec.Cities
	policy := samplePolicy(recheckPolicy(ph.Sampling.SamplingPolicy, len(cities)))
	t := newTable(sizeHeader...).alignRight(2, 3, 4, 5, 6, 7)
	var total, institutions, tertiary int
	for _, city := range cities {
		var own []sampling.Institution
		for _, in := range frame {
			if in.CityCode == city.Code {
				own = append(own, in)
			}
		}
		s, err := sampling.SizesOf(own, policy)
		if err != nil {
			return err
		}
		cs := sampling.CitySize{CityCode: city.Code}
		if len(s.Cities) == 1 {
			cs = s.Cities[0]
		}
		short := shortOf(cs, policy)
		if s.FrameShort {
			short = append(short, fmt.Sprintf("minimum %d (has %d)", policy.MinTotal, len(own)))
		}
		if len(own) == 0 {
			short = []string{"no institutions on the roster"}
		}
		t.add(city.Name, orNone(city.DisplayName), fmt.Sprint(cs.Institutions), fmt.Sprint(cs.TertiaryInFrame), fmt.Sprint(cs.Quota),
			fmt.Sprint(cs.TertiaryQuota), fmt.Sprint(s.TopUp), fmt.Sprint(s.Total), orNone(strings.Join(short, "; ")))
		total += s.Total
		institutions += cs.Institutions
		tertiary += cs.TertiaryInFrame
	}
	t.add("total", "", fmt.Sprint(institutions), fmt.Sprint(tertiary), "", "", "", fmt.Sprint(total), "")
	t.write(w)
	if min := ph.Sampling.MinTotal; min > 0 && total < int(min) {
		fmt.Fprintf(w, "The samples hold %d institutions in all, fewer than the phase's minimum of %d.\n", total, min)
	}
	return nil
}

func (p *campaignPlan) writeFlyCheckSizes(w io.Writer, ph *flycheckv1.Phase, frame []sampling.Institution) error {
	policy := samplePolicy(ph.Sampling.SamplingPolicy)
	s, err := sampling.SizesOf(frame, policy)
	if err != nil {
		return err
	}
	byCode := map[string]sampling.CitySize{}
	for _, cs := range s.Cities {
		byCode[cs.CityCode] = cs
	}
	t := newTable(sizeHeader...).alignRight(2, 3, 4, 5, 6, 7)
	var institutions, tertiary int
	for _, city := range p.camp.Spec.Cities {
		cs, ok := byCode[city.Code]
		short := shortOf(cs, policy)
		if !ok {
			short = []string{"no institutions on the roster"}
		}
		size := fmt.Sprint(cs.Quota)
		if s.TopUp > 0 { // and whatever of the top-up falls in the city
			size = "≥" + size
		}
		t.add(city.Name, orNone(city.DisplayName), fmt.Sprint(cs.Institutions), fmt.Sprint(cs.TertiaryInFrame), fmt.Sprint(cs.Quota),
			fmt.Sprint(cs.TertiaryQuota), "", size, orNone(strings.Join(short, "; ")))
		institutions += cs.Institutions
		tertiary += cs.TertiaryInFrame
	}
	short := "—"
	if s.FrameShort {
		short = fmt.Sprintf("minimum %d (has %d)", policy.MinTotal, len(frame))
	}
	t.add("province", "全省", fmt.Sprint(institutions), fmt.Sprint(tertiary), fmt.Sprint(s.Quotas), "", fmt.Sprint(s.TopUp), fmt.Sprint(s.Total), short)
	t.write(w)
	if s.TopUp > 0 {
		fmt.Fprintf(w, "The top-up of %d comes from any city, as the draw's random order falls; a city's sample is its quota plus its part of it.\n", s.TopUp)
	}
	return nil
}

// shortOf says which minimums a city's roster cannot meet.
func shortOf(cs sampling.CitySize, p sampling.Policy) []string {
	var out []string
	for _, k := range cs.Shortfalls {
		switch k {
		case sampling.ShortfallCity:
			out = append(out, fmt.Sprintf("quota (has %d institutions)", cs.Institutions))
		case sampling.ShortfallTertiary:
			out = append(out, fmt.Sprintf("tertiary (has %d of %d)", cs.TertiaryInFrame, p.MinTertiaryPerCity))
		}
	}
	return out
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
