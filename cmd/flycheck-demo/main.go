// Command flycheck-demo is `make demo`: a local control plane (kube-apiserver
// and etcd, package testenv), the operator in-process, a synthetic province
// and a campaign compressed to seconds, printed as it advances. Its node
// (package node) runs the screening Jobs' pods as processes of the flycheck
// binary.
//
// It is a separate command so that the operator's binary, flycheck, links
// none of this test machinery.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newDemoCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "flycheck-demo:", err)
		os.Exit(1)
	}
}
