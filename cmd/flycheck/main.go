// Command flycheck is the binary of flycheck-operator's image: the operator
// itself (`manager`), the screener its Job pods run (`screen`), and the
// tools users run (`sample verify`, `roster import`, `leads export`, `cases import|export`, `generate`,
// `report`, `plan`). Each subcommand lives in
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
	if err := rootFor(os.Args[0]).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "flycheck:", err)
		writeTerminationMessage(terminationLogPath(), err)
		os.Exit(1)
	}
}

// terminationLogPath is where Kubernetes reads a container's termination
// message ($FLYCHECK_TERMINATION_LOG for tests).
func terminationLogPath() string {
	if p := os.Getenv("FLYCHECK_TERMINATION_LOG"); p != "" {
		return p
	}
	return "/dev/termination-log"
}

// writeTerminationMessage puts the error alone into the termination
// message when running in a pod. Without it the kubelet falls back to the
// log's tail (TerminationMessageFallbackToLogsOnError), which starts with
// the screener's progress lines, and the ScreeningJob's failure reason
// would too. Outside a pod the file does not exist and nothing is written.
func writeTerminationMessage(path string, err error) {
	f, ferr := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if ferr != nil {
		return
	}
	defer f.Close()
	msg := "flycheck: " + err.Error()
	if len(msg) > 4000 { // the kubelet keeps 4096 bytes
		msg = msg[:4000]
	}
	_, _ = f.WriteString(msg)
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
		newPlanCommand(),
	)
	return root
}
