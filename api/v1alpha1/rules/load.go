package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// APIVersion and Kind of a RuleSet manifest. A rule file is a RuleSet
// manifest, so the same file works with `flycheck screen --rules` and with
// `kubectl apply`.
const (
	APIVersion = "flycheck.medfund.io/v1alpha1"
	Kind       = "RuleSet"
)

// manifest is one YAML document of a rule file. metadata and status are
// accepted loosely (a file exported with `kubectl get -o yaml` carries
// server-set fields there); everything else is decoded strictly.
type manifest struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   json.RawMessage `json:"metadata"`
	Spec       RuleSetSpec     `json:"spec"`
	Status     json.RawMessage `json:"status,omitempty"`
}

// LoadedSet is one RuleSet document read from a file.
// +kubebuilder:object:generate=false
type LoadedSet struct {
	// Source is "path" or "path#n" (n = 1-based document number when the
	// file holds several documents).
	Source string
	Name   string
	Spec   RuleSetSpec
}

// Catalogue is the union of the loaded RuleSets: all rules, in file order.
// +kubebuilder:object:generate=false
type Catalogue struct {
	Sets  []LoadedSet
	Rules []Rule
	// Sources[i] is the Source of the set Rules[i] came from.
	Sources []string
}

// LoadFiles reads, strictly decodes and validates rule files. A path that
// is a directory stands for its *.yaml and *.yml files in name order (not
// its subdirectories), so `--rules config/rules/` needs no shell glob.
// Every problem in every file is reported (not just the first); rule ids
// must be unique across all files.
func LoadFiles(paths ...string) (*Catalogue, error) {
	cat := &Catalogue{}
	files, errs := expandDirs(paths)
	var probs []FieldError
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule file: %w", err))
			continue
		}
		sets, err := Parse(path, data)
		if err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				probs = append(probs, ve.Problems...)
			} else {
				errs = append(errs, err)
			}
		}
		cat.Sets = append(cat.Sets, sets...)
	}
	if len(paths) == 0 {
		errs = append(errs, errors.New("no rule files given"))
	}
	seen := map[string]string{}
	for _, s := range cat.Sets {
		for i, r := range s.Spec.Rules {
			if r.ID != "" {
				if other, dup := seen[r.ID]; dup {
					probs = append(probs, FieldError{Source: s.Source, RuleID: r.ID, Index: i, Field: "id",
						Detail: "duplicate id (also in " + other + ")"})
					continue
				}
				seen[r.ID] = s.Source
			}
			cat.Rules = append(cat.Rules, r)
			cat.Sources = append(cat.Sources, s.Source)
		}
	}
	if len(probs) > 0 {
		errs = append(errs, &ValidationError{Problems: probs})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cat, nil
}

// expandDirs replaces each directory in paths by its rule files; a
// directory without any is an error (a wrong path, not an empty catalogue).
func expandDirs(paths []string) ([]string, []error) {
	var files []string
	var errs []error
	for _, path := range paths {
		st, err := os.Stat(path)
		if err != nil || !st.IsDir() {
			files = append(files, path) // a missing file is reported when read
			continue
		}
		ents, err := os.ReadDir(path) // sorted by name
		if err != nil {
			errs = append(errs, fmt.Errorf("rule directory: %w", err))
			continue
		}
		n := len(files)
		for _, ent := range ents {
			name := ent.Name()
			if ent.Type().IsRegular() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
				files = append(files, filepath.Join(path, name))
			}
		}
		if len(files) == n {
			errs = append(errs, fmt.Errorf("rule directory %s: no *.yaml or *.yml files", path))
		}
	}
	return files, errs
}

// Parse decodes the RuleSet documents of one file (multi-document YAML is
// allowed; empty documents are skipped) and validates each set. source names
// the file in errors. Validation problems are returned as a
// *ValidationError together with the decoded sets.
func Parse(source string, data []byte) ([]LoadedSet, error) {
	docs := splitDocuments(data)
	var sets []LoadedSet
	var probs []FieldError
	for n, doc := range docs {
		src := source
		if len(docs) > 1 {
			src = fmt.Sprintf("%s#%d", source, n+1)
		}
		if isBlankYAML(doc) {
			continue
		}
		var m manifest
		if err := yaml.UnmarshalStrict(doc, &m); err != nil {
			return sets, fmt.Errorf("%s: %w", src, err)
		}
		if m.APIVersion != APIVersion || m.Kind != Kind {
			return sets, fmt.Errorf("%s: expected apiVersion %s, kind %s; got %q, %q", src, APIVersion, Kind, m.APIVersion, m.Kind)
		}
		var meta struct {
			Name string `json:"name"`
		}
		if len(m.Metadata) > 0 {
			if err := json.Unmarshal(m.Metadata, &meta); err != nil {
				return sets, fmt.Errorf("%s: metadata: %w", src, err)
			}
		}
		if meta.Name == "" {
			return sets, fmt.Errorf("%s: metadata.name is required", src)
		}
		if err := Validate(m.Spec.Rules); err != nil {
			for _, p := range err.(*ValidationError).Problems {
				p.Source = src
				probs = append(probs, p)
			}
		}
		sets = append(sets, LoadedSet{Source: src, Name: meta.Name, Spec: m.Spec})
	}
	if len(probs) > 0 {
		return sets, &ValidationError{Problems: probs}
	}
	return sets, nil
}

// splitDocuments splits a YAML stream at "---" separator lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	start := 0
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		lineEnd := len(data)
		if end >= 0 {
			lineEnd = pos + end
		}
		line := strings.TrimRight(string(data[pos:lineEnd]), " \t\r")
		if line == "---" || strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "---\t") {
			docs = append(docs, data[start:pos])
			start = lineEnd + 1
			if start > len(data) {
				start = len(data)
			}
		}
		pos = lineEnd + 1
	}
	return append(docs, data[start:])
}

func isBlankYAML(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") && t != "..." {
			return false
		}
	}
	return true
}
