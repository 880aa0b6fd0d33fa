package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Refusal is a manifest the API server must refuse, with the field its
// error names and a substring of its message. The files live in
// controllers/testdata/campaigns/bad: TestCampaignValidation sends them to
// the API server and the `flycheck plan` tests to the offline validator,
// so both are held to the same words.
type Refusal struct {
	File     string // base name
	Name     string // what the case is
	Field    string // "" when the error names no field (a root rule)
	Message  string
	Manifest []byte
}

// Refusals reads dir/*.yaml. Each file starts with the comment lines
//
//	# Refused: <what>.
//	# field: <field path>
//	# message: <substring of the message>
func Refusals(dir string) ([]Refusal, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no manifests in %s", dir)
	}
	out := make([]Refusal, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		r := Refusal{File: filepath.Base(f), Manifest: data}
		var haveField, haveMsg bool
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(line, "#") {
				break
			}
			key, value, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
			value = strings.TrimSpace(value)
			switch key {
			case "Refused":
				r.Name = strings.TrimSuffix(value, ".")
			case "field":
				r.Field, haveField = value, true
			case "message":
				r.Message, haveMsg = value, value != ""
			}
		}
		if r.Name == "" || !haveField || !haveMsg {
			return nil, fmt.Errorf("%s: want the comments '# Refused:', '# field:' and '# message:' first", f)
		}
		out = append(out, r)
	}
	return out, nil
}
