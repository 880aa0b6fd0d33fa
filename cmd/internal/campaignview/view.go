// Package campaignview prints a Campaign the way a city bureau reads it:
// one row per city with its screening, its draws and its cases. The demo's
// closing table and `kubectl flycheck status` are this one table.
package campaignview

import (
	"fmt"
	"io"
	"text/tabwriter"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// WriteCityTable writes the per-city table of camp from its ScreeningJobs
// and InspectionSamples (those the reader may list; a city whose objects
// are out of sight shows "-"). The Chinese name comes last: tabwriter counts
// a wide character as one column.
func WriteCityTable(out io.Writer, camp *flycheckv1.Campaign, sjs []flycheckv1.ScreeningJob, samples []flycheckv1.InspectionSample) error {
	rows := map[string]flycheckv1.CityStatus{}
	for _, c := range camp.Status.Cities {
		rows[c.Name] = c
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CITY\tCODE\tSCREENING\tLINES\tFINDINGS\tAT RISK (¥)\tFLAGGED\tRECHECK\tFLY-CHECK\tCASES\tOVERDUE\tRECOVERED (¥)\tNAME")
	for _, city := range camp.Spec.Cities {
		state, lines, findings, suspect, flagged := "-", "-", "-", "-", "-"
		for _, sj := range sjs {
			if sj.Namespace == city.Namespace && sj.Labels[flycheckv1.LabelCampaign] == camp.Name {
				st := sj.Status
				state = string(st.State)
				lines, findings, suspect = fmt.Sprint(st.LinesScanned), fmt.Sprint(st.Findings.Total), st.Findings.SuspectAmount
				flagged = fmt.Sprintf("%d/%d", st.Institutions.Flagged, st.Institutions.Total)
			}
		}
		picks := map[flycheckv1.SamplingPurpose]string{flycheckv1.PurposeRecheck: "-", flycheckv1.PurposeFlyCheck: "-"}
		for _, is := range samples {
			if is.Status.Counts == nil || is.Labels[flycheckv1.LabelCampaign] != camp.Name {
				continue
			}
			for _, bc := range is.Status.Counts.ByCity {
				if bc.CityCode == city.Code {
					picks[is.Spec.Purpose] = fmt.Sprintf("%d (%d tertiary)", bc.Selected, bc.Tertiary)
				}
			}
		}
		cases, overdue, recovered := "-", "-", "-"
		if r, ok := rows[city.Name]; ok && r.Cases > 0 {
			cases, overdue, recovered = fmt.Sprint(r.Cases), fmt.Sprint(r.Overdue), string(r.Recovered)
			if recovered == "" {
				recovered = "0"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", city.Name, city.Code, state, lines, findings,
			suspect, flagged, picks[flycheckv1.PurposeRecheck], picks[flycheckv1.PurposeFlyCheck], cases, overdue, recovered, city.DisplayName)
	}
	return w.Flush()
}
