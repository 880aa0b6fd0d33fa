// Command flycheck is the binary of flycheck-operator's image: the operator
// itself (`manager`), the screener its Job pods run (`screen`), and the
// tools users run (`sample verify`, `roster import`, `leads export`, `cases import|export`, `generate`). Each subcommand lives in
// its own file and is added to the root below.
//
// It links no test machinery: the demo, with its local control plane and
// node, is the separate command cmd/flycheck-demo (`make demo`).
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
		newRosterCommand(),
		newLeadsCommand(),
		newCasesCommand(),
		newReportCommand(),
	)
	return root
}
