// Command genmarkers writes the kubebuilder markers of api/v1alpha1/rules
// that duplicate the template table: the Enum markers of Template and
// Category and the CEL XValidation markers of Rule. It rewrites rules.go in
// the current directory (run it with `go generate ./api/...`, part of
// `make generate`); controller-gen then turns the markers into the CRD.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"strings"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

func main() {
	const path = "rules.go"
	src, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	lines := strings.Split(string(src), "\n")
	tplEnum, catEnum := rules.EnumMarkers()
	var cel []string
	for _, x := range rules.XValidations() {
		cel = append(cel, x.Marker())
	}
	lines, err = replaceAbove(lines, "type Template string", "// +kubebuilder:validation:Enum=", []string{tplEnum})
	if err == nil {
		lines, err = replaceAbove(lines, "type Category string", "// +kubebuilder:validation:Enum=", []string{catEnum})
	}
	if err == nil {
		lines, err = replaceAbove(lines, "type Rule struct {", "// +kubebuilder:validation:XValidation:", cel)
	}
	if err != nil {
		fail(err)
	}
	out, err := format.Source([]byte(strings.Join(lines, "\n")))
	if err != nil {
		fail(err)
	}
	if bytes.Equal(out, src) {
		return
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		fail(err)
	}
}

// replaceAbove replaces the marker lines with prefix directly above the
// declaration line decl by markers (inserting them if there are none).
func replaceAbove(lines []string, decl, prefix string, markers []string) ([]string, error) {
	at := -1
	for i, l := range lines {
		if l == decl {
			if at >= 0 {
				return nil, fmt.Errorf("%q declared twice", decl)
			}
			at = i
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("%q not found", decl)
	}
	from := at
	for from > 0 && strings.HasPrefix(lines[from-1], prefix) {
		from--
	}
	out := append([]string(nil), lines[:from]...)
	out = append(out, markers...)
	return append(out, lines[at:]...), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "genmarkers:", err)
	os.Exit(1)
}
