package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newManagerCommand runs the operator. Filled in by the foundation work.
func newManagerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "manager",
		Short: "Run the operator's controllers",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("not built yet")
		},
	}
}
