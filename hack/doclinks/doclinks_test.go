package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"Quick start", "quick-start"},
		{"What's new?", "whats-new"},
		{"A  B", "a--b"},
		{"v1.2 & v2", "v12--v2"},
		{"foo_bar **bold** *it*", "foo_bar-bold-it"},
		{"4. Sampling algorithm `flycheck-sample/v1`", "4-sampling-algorithm-flycheck-samplev1"},
		{"GenderRestriction — 限性别 (BeyondPaymentScope, line)", "genderrestriction--限性别-beyondpaymentscope-line"},
		{"See [rules.md](rules.md) for templates", "see-rulesmd-for-templates"},
		{"`spec.phases[].sampling`", "specphasessampling"},
		{"`a_b` and `*x*`", "a_b-and-x"},
		{"<span>HTML</span> tags", "html-tags"},
		{"Ünïcödé Café", "ünïcödé-café"},
		// Chinese: CJK characters stay, full-width punctuation goes.
		{"快速开始", "快速开始"},
		{"一、Campaign 字段（spec）", "一campaign-字段spec"},
		{"读懂状态：conditions、reasons 与事件", "读懂状态conditionsreasons-与事件"},
		{"≥10 % 抽样，三级医院 ≥2 家", "10--抽样三级医院-2-家"},
		{"第 3 步：现场核实（Inspected）", "第-3-步现场核实inspected"},
	} {
		if got := Slug(headingText(tc.heading)); got != tc.want {
			t.Errorf("slug of %q = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

// TestSlugCharacters pins the character classes github-slugger keeps and
// drops, on the raw text (no Markdown).
func TestSlugCharacters(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"exchange.bind_headers(exchange, routing [, bindCallback])", "exchangebind_headersexchange-routing--bindcallback"},
		{"heading with a - dash", "heading-with-a---dash"},
		{"I ♥ unicode", "i--unicode"},
		{"en–dash em—dash", "endash-emdash"},
		{"apostrophe’s “quoted” «text»", "apostrophes-quoted-text"},
		{"Привет non-latin 你好", "привет-non-latin-你好"},
		{"a_‿＿b", "a_‿＿b"},             // connector punctuation stays
		{"x² ① Ⅻ ٣", "x--ⅻ-٣"},         // other numbers go; letter and decimal numbers stay
		{"Ⓐ circled", "ⓐ-circled"},     // alphabetic symbols stay
		{"a\u00a0b\tc\u2028d", "abcd"}, // separators other than the space, controls
		{"￥100 ≥ 90%", "100--90"},      // currency and math symbols
		{"第一章　总则", "第一章总则"},            // the ideographic space is a separator, not a space
	} {
		if got := Slug(tc.text); got != tc.want {
			t.Errorf("Slug(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestSluggerDuplicates(t *testing.T) {
	var s Slugger
	var got []string
	for _, h := range []string{"Example", "Example", "Example 1", "Example-1", "Example", "Fox-1", "Fox", "Fox", "示例", "示例"} {
		got = append(got, s.Next(h))
	}
	want := []string{"example", "example-1", "example-1-1", "example-1-2", "example-2", "fox-1", "fox", "fox-2", "示例", "示例-1"}
	if !slices.Equal(got, want) {
		t.Errorf("slugs = %q, want %q", got, want)
	}
}

func TestParseSkipsCode(t *testing.T) {
	doc := Parse("# Title\n\n```sh\n# comment\n[x](a.md)\n```\n\n    [y](b.md)\n\n`[z](c.md)` [w](d.md)\n")
	if len(doc.Links) != 1 || doc.Links[0].Target != "d.md" || doc.Links[0].Line != 10 {
		t.Errorf("links = %+v, want only d.md on line 10", doc.Links)
	}
	if len(doc.Anchors) != 1 || !doc.Anchors["title"] {
		t.Errorf("anchors = %v, want only #title", doc.Anchors)
	}
}

func TestGoodFixture(t *testing.T) {
	rep, err := Check("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("unexpected broken link %s", p)
	}
	// README.md's 20 links outside code (15 with an anchor) and other.md's
	// one; the https link is counted, not followed (autolinks are not read).
	if rep.Files != 4 || rep.Links != 21 || rep.Anchors != 15 || rep.External != 1 {
		t.Errorf("checked %d files, %d links, %d anchors, %d external; want 4, 21, 15, 1",
			rep.Files, rep.Links, rep.Anchors, rep.External)
	}
}

func TestBrokenFixture(t *testing.T) {
	rep, err := Check("testdata/broken")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.File+":"+strconv.Itoa(p.Line)+": "+p.Target)
	}
	want := []string{
		"index.md:3: nope.md",
		"index.md:3: target.md#no-such-heading",
		"index.md:4: target.md#读懂状态：条件",
		"index.md:5: target.md#example-2",
		"index.md:6: ../../../../../../etc/passwd",
		"index.md:6: target.go#main",
		"index.md:7: #nowhere",
		"index.md:7: target.md#Example",
		"index.md:9: missing-ref.md",
	}
	if !slices.Equal(got, want) {
		t.Errorf("broken links:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range rep.Problems {
		if p.Target == "target.md#Example" && !strings.Contains(p.Reason, "did you mean #example?") {
			t.Errorf("reason for a wrong-case anchor = %q, want a suggestion of #example", p.Reason)
		}
	}
}

// TestRepositoryDocs is the check itself: every relative link and anchor in
// the repository's Markdown files resolves.
func TestRepositoryDocs(t *testing.T) {
	root := repoRoot(t)
	rep, err := Check(root, fixtures)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("broken link %s", p)
	}
	if rep.Files < 10 || rep.Links < 10 {
		t.Errorf("checked only %d files and %d links: is the root %s right?", rep.Files, rep.Links, root)
	}
	t.Logf("%d Markdown files, %d relative links (%d with an anchor), %d external links not followed",
		rep.Files, rep.Links, rep.Anchors, rep.External)
}

// repoRoot is the nearest directory above the test's with a go.mod.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
