package main

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Problem is a link that does not resolve.
type Problem struct {
	File   string // relative to the root, with slashes
	Line   int
	Target string
	Reason string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Target, p.Reason)
}

// Report is the outcome of a check.
type Report struct {
	Files    int // Markdown files read
	Links    int // relative links checked (anchors included)
	Anchors  int // of which with a #anchor
	External int // links with a scheme (http:, mailto: …), not followed
	Problems []Problem
}

var (
	schemeRe     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	lineAnchorRe = regexp.MustCompile(`^L[0-9]+(-L[0-9]+)?$`)
)

// Check reads every *.md file under root, except in hidden directories
// (.git, .demo, …), bin, node_modules and the directories skip names
// (relative to root), and checks that each relative link names a file or
// directory inside root and that each #anchor names a heading of the
// Markdown file it points to.
func Check(root string, skip ...string) (Report, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return Report{}, err
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[filepath.ToSlash(filepath.Clean(s))] = true
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := relSlash(root, path)
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") && name != ".github" || name == "bin" || name == "node_modules" || skipped[rel]) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.EqualFold(filepath.Ext(path), ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	c := checker{root: root, docs: map[string]*Doc{}}
	rep := Report{Files: len(files)}
	for _, f := range files {
		doc, err := c.doc(f)
		if err != nil {
			return Report{}, err
		}
		for _, l := range doc.Links {
			c.check(f, l, &rep)
		}
	}
	sort.Slice(rep.Problems, func(i, j int) bool {
		a, b := rep.Problems[i], rep.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return rep, nil
}

type checker struct {
	root string
	docs map[string]*Doc
}

// doc parses a Markdown file once.
func (c *checker) doc(path string) (*Doc, error) {
	if d, ok := c.docs[path]; ok {
		return d, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := Parse(string(b))
	c.docs[path] = &d
	return &d, nil
}

func (c *checker) check(file string, l Link, rep *Report) {
	target := l.Target
	if target == "" || schemeRe.MatchString(target) || strings.HasPrefix(target, "//") {
		if target != "" {
			rep.External++
		}
		return
	}
	rep.Links++
	bad := func(format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{File: relSlash(c.root, file), Line: l.Line, Target: target,
			Reason: fmt.Sprintf(format, args...)})
	}
	pathPart, anchor, hasAnchor := strings.Cut(target, "#")
	pathPart, _, _ = strings.Cut(pathPart, "?")
	p, err := url.PathUnescape(pathPart)
	if err != nil {
		bad("bad escape in path: %v", err)
		return
	}
	dest := file
	switch {
	case p == "":
	case strings.HasPrefix(p, "/"):
		// GitHub reads a leading slash as the repository root.
		dest = filepath.Join(c.root, filepath.FromSlash(p))
	default:
		dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(p))
	}
	if rel, err := filepath.Rel(c.root, dest); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		bad("points outside the repository")
		return
	}
	info, err := os.Stat(dest)
	if err != nil {
		bad("no such file or directory %s", relSlash(c.root, dest))
		return
	}
	if !hasAnchor {
		return
	}
	rep.Anchors++
	if a, err := url.PathUnescape(anchor); err == nil {
		anchor = a
	}
	if info.IsDir() {
		// GitHub shows a directory's README below its listing.
		readme := filepath.Join(dest, "README.md")
		if _, err := os.Stat(readme); err != nil {
			bad("#%s: the directory has no README.md to hold the anchor", anchor)
			return
		}
		dest = readme
	}
	if !strings.EqualFold(filepath.Ext(dest), ".md") {
		if !lineAnchorRe.MatchString(anchor) {
			bad("#%s: only line anchors (#L10, #L10-L20) resolve in a file that is not Markdown", anchor)
		}
		return
	}
	doc, err := c.doc(dest)
	if err != nil {
		bad("%v", err)
		return
	}
	if !doc.Anchors[anchor] {
		bad("no heading with anchor #%s in %s%s", anchor, relSlash(c.root, dest), suggestion(anchor, doc.Anchors))
	}
}

// suggestion names the anchor closest to a missing one, when there is a
// plausible one: the same up to case, or one that starts like it.
func suggestion(anchor string, anchors map[string]bool) string {
	var best string
	for a := range anchors {
		if strings.EqualFold(a, anchor) || (len(anchor) >= 4 && strings.HasPrefix(a, anchor[:len(anchor)*3/4])) {
			if best == "" || a < best {
				best = a
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean #%s?)", best)
}

func relSlash(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}
