package main

import (
	"regexp"
	"strings"
)

// Link is one link destination written in a Markdown file.
type Link struct {
	Line   int    // 1-based line of the link's destination
	Target string // as written: path, #anchor, path#anchor or a URL
}

// Doc is what the checker needs of a Markdown file: its links and the
// anchors its headings (and HTML id/name attributes) define.
type Doc struct {
	Links   []Link
	Anchors map[string]bool
}

var (
	fenceRe     = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	atxRe       = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$`)
	atxCloseRe  = regexp.MustCompile(`(?:^|[ \t]+)#+$`)
	setextRe    = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	listItemRe  = regexp.MustCompile(`^ {0,3}(?:[-*+]|[0-9]{1,9}[.)])(?:[ \t]|$)`)
	refDefRe    = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:[ \t]*(<[^>\n]*>|\S+)`)
	htmlLinkRe  = regexp.MustCompile(`(?i)<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*"([^"]*)"`)
	htmlIDRe    = regexp.MustCompile(`(?i)<[a-z][a-z0-9]*\b[^>]*?\b(?:id|name)\s*=\s*"([^"]*)"`)
	commentRe   = regexp.MustCompile(`(?s)<!--.*?-->`)
	blankLineRe = regexp.MustCompile(`^[ \t]*$`)
)

// Parse reads a Markdown document: fenced and indented code blocks and code
// spans hold no links and no headings; everything else is scanned for
// inline links and images, reference definitions and HTML href/src.
func Parse(src string) Doc {
	src = commentRe.ReplaceAllStringFunc(src, blankOut)
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	doc := Doc{Anchors: map[string]bool{}}
	var slugs Slugger

	var (
		fence      string // the open fence's marker, "" outside a fence
		indented   bool   // inside an indented code block
		inList     bool   // a list item opened and no unindented text since
		prevBlank  = true
		paraStart  = -1 // first line of the current paragraph, -1 if none
		blockStart = -1 // first line of the current run of text lines
	)
	flush := func(end int) {
		if blockStart >= 0 {
			scanLinks(lines[blockStart:end], blockStart, &doc)
		}
		blockStart = -1
	}
	for i, line := range lines {
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		switch {
		case fence != "":
			if m := fenceRe.FindStringSubmatch(line); m != nil && m[1][0] == fence[0] && len(m[1]) >= len(fence) &&
				strings.TrimSpace(line[strings.Index(line, m[1])+len(m[1]):]) == "" {
				fence = ""
			}
			continue
		case indented && (indent >= 4 || blankLineRe.MatchString(line)):
			continue
		}
		indented = false
		if m := fenceRe.FindStringSubmatch(line); m != nil {
			flush(i)
			fence, paraStart, prevBlank = m[1], -1, false
			continue
		}
		if blankLineRe.MatchString(line) {
			flush(i)
			prevBlank, paraStart = true, -1
			continue
		}
		if indent >= 4 && prevBlank && !inList {
			flush(i)
			indented, paraStart = true, -1
			continue
		}
		if listItemRe.MatchString(line) {
			inList = true
		} else if indent == 0 {
			inList = false
		}
		if blockStart < 0 {
			blockStart = i
		}
		prevBlank = false

		if m := atxRe.FindStringSubmatch(line); m != nil {
			doc.Anchors[slugs.Next(headingText(atxCloseRe.ReplaceAllString(m[2], "")))] = true
			paraStart = -1
			continue
		}
		if paraStart >= 0 && setextRe.MatchString(line) && !listItemRe.MatchString(lines[paraStart]) {
			doc.Anchors[slugs.Next(headingText(strings.Join(trimAll(lines[paraStart:i]), "\n")))] = true
			paraStart = -1
			continue
		}
		if paraStart < 0 && !strings.HasPrefix(strings.TrimSpace(line), "|") {
			paraStart = i
		}
	}
	flush(len(lines))
	return doc
}

// scanLinks adds the links of a run of text lines (first is the index of
// the first line) and the anchors of its HTML ids.
func scanLinks(lines []string, first int, doc *Doc) {
	text := blankCodeSpans(strings.Join(lines, "\n"))
	lineAt := func(off int) int { return first + 1 + strings.Count(text[:off], "\n") }
	add := func(off int, target string) {
		doc.Links = append(doc.Links, Link{Line: lineAt(off), Target: target})
	}
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '[':
			j := closingBracket(text, i)
			if j < 0 || j+1 >= len(text) || text[j+1] != '(' {
				continue
			}
			if dest, ok := destination(text[j+2:]); ok {
				add(j+2, dest)
			}
		}
	}
	for _, m := range refDefRe.FindAllStringSubmatchIndex(text, -1) {
		add(m[2], strings.Trim(text[m[2]:m[3]], "<>"))
	}
	for _, m := range htmlLinkRe.FindAllStringSubmatchIndex(text, -1) {
		add(m[2], text[m[2]:m[3]])
	}
	for _, m := range htmlIDRe.FindAllStringSubmatch(text, -1) {
		doc.Anchors[m[1]] = true
	}
}

// closingBracket is the index of the ']' matching the '[' at open, or -1.
func closingBracket(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// destination parses a link destination (and optional title) after the
// opening parenthesis: <with spaces> or a run without spaces whose
// parentheses balance.
func destination(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t\n")
	if strings.HasPrefix(s, "<") {
		end := strings.IndexAny(s, ">\n")
		if end < 0 || s[end] != '>' {
			return "", false
		}
		return s[1:end], true
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return s[:i], true
			}
			depth--
		case ' ', '\t', '\n':
			// A title may follow; the destination ends here.
			return s[:i], depth == 0
		}
	}
	return "", false
}

// blankCodeSpans replaces the content of code spans (and their backticks)
// with spaces, keeping offsets and newlines, so that nothing in them is
// read as a link.
func blankCodeSpans(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		if b[i] == '\\' {
			i += 2
			continue
		}
		if b[i] != '`' {
			i++
			continue
		}
		n := runLength(s[i:], '`')
		closeAt := -1
		for j := i + n; j < len(s); {
			if s[j] != '`' {
				j++
				continue
			}
			m := runLength(s[j:], '`')
			if m == n {
				closeAt = j
				break
			}
			j += m
		}
		if closeAt < 0 {
			i += n
			continue
		}
		for k := i; k < closeAt+n; k++ {
			if b[k] != '\n' {
				b[k] = ' '
			}
		}
		i = closeAt + n
	}
	return string(b)
}

func blankOut(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		return ' '
	}, s)
}

func trimAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimSpace(l)
	}
	return out
}
