// Command flycheck is the single binary of flycheck-operator: the operator
// itself (`manager`) and the tools around it (`screen`, `generate`,
// `sample verify`, `leads export`, `cases import|export`, `demo`). Each
// subcommand lives in its own file and is added to the root below.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "flycheck:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "flycheck",
		Short: "Medical-insurance anti-fraud campaigns (打击欺诈骗保专项治理) on Kubernetes",
		// Errors are printed once by main; usage only for flag mistakes.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.AddCommand(
		newManagerCommand(),
		newScreenCommand(),
		newSampleCommand(),
		newGenerateCommand(),
		newLeadsCommand(),
		newCasesCommand(),
		newDemoCommand(),
	)
	return root
}
