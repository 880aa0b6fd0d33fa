package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/medfund/flycheck-operator/internal/screening"
)

// columnFlags are the column-mapping flags shared by `screen` and `roster
// import` (docs/data-format.md, "Column names").
type columnFlags struct {
	file    string
	profile string
	entries []string
}

func (c *columnFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&c.file, "columns", "", "column mapping file (YAML or JSON: profile and, per table, name in the file → documented name)")
	f.StringVar(&c.profile, "column-profile", "", fmt.Sprintf("built-in column spellings to accept: %v", screening.Profiles()))
	f.StringArrayVar(&c.entries, "column", nil, "one mapping entry TABLE.NAME_IN_FILE=DOCUMENTED_NAME (repeatable), e.g. institutions.city_code=admdvs")
}

// resolve builds the mapping (nil when no flag was given).
func (c *columnFlags) resolve() (*screening.ColumnMap, error) {
	if c.file == "" && c.profile == "" && len(c.entries) == 0 {
		return nil, nil
	}
	m := &screening.ColumnMap{}
	if c.file != "" {
		var err error
		if m, err = screening.LoadColumnMap(c.file); err != nil {
			return nil, err
		}
	}
	if c.profile != "" {
		if m.Profile != "" && m.Profile != c.profile {
			return nil, fmt.Errorf("--column-profile %s contradicts profile %s in %s", c.profile, m.Profile, c.file)
		}
		m.Profile = c.profile
	}
	for _, e := range c.entries {
		if err := m.AddEntry(e); err != nil {
			return nil, err
		}
	}
	return m, m.Validate()
}
