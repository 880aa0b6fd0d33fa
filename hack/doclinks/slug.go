package main

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Slug is the anchor GitHub gives a heading whose rendered text is text
// (github-slugger): lower-case; each space turned into '-'; kept are '-',
// letters, marks, decimal and letter numbers, connector punctuation ('_')
// and anything alphabetic (Ⓐ); dropped are all other punctuation, symbols,
// other numbers (①, ²), separators and control characters. CJK characters
// are letters, so a Chinese heading keeps them and loses only its
// punctuation (，、（）：…).
func Slug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || kept(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func kept(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.In(r, unicode.Nd, unicode.Nl, unicode.Pc, unicode.Other_Alphabetic)
}

// Slugger hands out the anchors of one document's headings in order, as
// github-slugger does: the first heading with a slug gets it bare, the
// next ones -1, -2, …, skipping any slug a heading already has.
type Slugger struct{ seen map[string]int }

// Next returns the anchor of the next heading with rendered text text.
func (s *Slugger) Next(text string) string {
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	base := Slug(text)
	slug := base
	for {
		if _, taken := s.seen[slug]; !taken {
			break
		}
		s.seen[base]++
		slug = base + "-" + strconv.Itoa(s.seen[base])
	}
	s.seen[slug] = 0
	return slug
}

var (
	imageRe    = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	linkRe     = regexp.MustCompile(`\[([^\]]*)\](\([^)]*\)|\[[^\]]*\])`)
	htmlTagRe  = regexp.MustCompile(`</?[A-Za-z][^>]*>`)
	emphasisRe = regexp.MustCompile(`\*+|~~|(^|\W)_+|_+(\W|$)`)
)

// headingText renders a heading's inline Markdown to the text GitHub slugs:
// code spans keep their content, links and images their text, HTML tags
// and emphasis markers go, escapes and entities are resolved.
func headingText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '`' {
			// A code span: its content is literal text.
			n := runLength(s[i:], '`')
			if end := strings.Index(s[i+n:], strings.Repeat("`", n)); end >= 0 {
				b.WriteString(protect(strings.TrimSpace(s[i+n : i+n+end])))
				i += n + end + n
				continue
			}
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		if s[i] == '\\' && i+1 < len(s) && strings.ContainsRune("\\`*_{}[]()#+-.!<>|~\"'", rune(s[i+1])) {
			b.WriteString(protect(s[i+1 : i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	t := b.String()
	t = imageRe.ReplaceAllString(t, "$1")
	t = linkRe.ReplaceAllString(t, "$1")
	t = htmlTagRe.ReplaceAllString(t, "")
	t = emphasisRe.ReplaceAllString(t, "$1$2")
	t = html.UnescapeString(t)
	return unprotect(t)
}

// protect hides the characters of literal text (code spans, escapes) from
// the Markdown clean-up in headingText; unprotect restores them.
func protect(s string) string {
	return strings.Map(func(r rune) rune {
		if i := strings.IndexRune(markup, r); i >= 0 {
			return rune(protectBase + i)
		}
		return r
	}, s)
}

func unprotect(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= protectBase && r < protectBase+rune(len(markup)) {
			return rune(markup[r-protectBase])
		}
		return r
	}, s)
}

// markup is what headingText strips; protectBase is a private-use range
// that stands for it inside literal text.
const (
	markup      = "*_~[]()<>!&"
	protectBase = 0xE000
)

func runLength(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}
