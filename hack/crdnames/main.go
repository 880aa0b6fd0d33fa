// Command crdnames caps metadata.name in generated CRDs (run by `make
// manifests` after controller-gen, which has no marker for it).
//
// A Campaign's and a ScreeningJob's name is a label value on what they
// create, so it must fit in 63 characters. Saying so in the schema lets the
// API server reject a longer name itself, and, because CEL's cost estimate
// then knows the name's length, lets the Campaign's validation messages
// print the lengths that do not fit.
//
// Usage: crdnames FILE=MAXLEN...
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// generated is controller-gen's schema for an object's metadata, at the
// indentation of a CRD's openAPIV3Schema properties.
const generated = "          metadata:\n            type: object\n"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crdnames FILE=MAXLEN...")
		os.Exit(2)
	}
	for _, arg := range os.Args[1:] {
		if err := capName(arg); err != nil {
			fmt.Fprintln(os.Stderr, "crdnames:", err)
			os.Exit(1)
		}
	}
}

func capName(arg string) error {
	file, n, ok := strings.Cut(arg, "=")
	max, err := strconv.Atoi(n)
	if !ok || err != nil || max < 1 {
		return fmt.Errorf("%q: want FILE=MAXLEN", arg)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if bytes.Count(data, []byte(generated)) != 1 {
		return fmt.Errorf("%s: controller-gen's metadata schema not found exactly once (its output changed?)", file)
	}
	capped := fmt.Sprintf("          metadata:\n            properties:\n              name:\n                maxLength: %d\n                type: string\n            type: object\n", max)
	return os.WriteFile(file, bytes.Replace(data, []byte(generated), []byte(capped), 1), 0o644)
}
