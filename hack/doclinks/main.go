// Command doclinks checks the links of the repository's Markdown files:
// every relative link must name a file or directory that exists, and every
// #anchor a heading of the Markdown file it points to, with GitHub's slugs
// (Chinese headings included). External links are not followed.
//
//	go run ./hack/doclinks [ROOT]
//
// It prints each broken link as FILE:LINE: TARGET: REASON and exits 1 when
// there is one. The test of this package runs the same check on the
// repository, so `go test ./...` fails on a broken link.
package main

import (
	"fmt"
	"os"
)

// fixtures holds this command's deliberately broken test documents.
const fixtures = "hack/doclinks/testdata"

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	rep, err := Check(root, fixtures)
	if err != nil {
		fmt.Fprintln(os.Stderr, "doclinks:", err)
		os.Exit(2)
	}
	for _, p := range rep.Problems {
		fmt.Println(p)
	}
	fmt.Fprintf(os.Stderr, "doclinks: %d Markdown files, %d relative links (%d with an anchor), %d external links not followed; %d broken\n",
		rep.Files, rep.Links, rep.Anchors, rep.External, len(rep.Problems))
	if len(rep.Problems) > 0 {
		os.Exit(1)
	}
}
