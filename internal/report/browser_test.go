package report

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// artifactDir is where test artifacts (the screenshot) go: never the repo.
func artifactDir(t *testing.T) string {
	dir := filepath.Join(os.TempDir(), "flycheck-test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium: run hack/install-browser.sh (make test does)")
	return ""
}

// TestReportInABrowser opens report.html in headless Chromium from a
// loopback server: the page loads with no request but its own, the four
// charts are there, and the Chinese labels are drawn with Noto Sans CJK SC
// (the font Chromium actually used for the glyphs, as its CSS domain
// reports). A screenshot goes to $TMPDIR/flycheck-test-artifacts.
func TestReportInABrowser(t *testing.T) {
	page, err := HTML(sampleReport(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var served []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served = append(served, r.URL.Path)
		mu.Unlock()
		if r.URL.Path != "/report.html" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on loopback: %s", srv.URL)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1100, 900),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	var requested []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requested = append(requested, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	enable := func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, dom.Enable, dom.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, css.Enable, cdp.Empty{})
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Func(enable),
		chromedp.Navigate(srv.URL+"/report.html"),
		chromedp.WaitReady(chromedp.CSS("#chart-amounts svg"))); err != nil {
		t.Fatal(err)
	}
	run := func(expr string, opts ...chromedp.EvaluateOption) any {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, opts...))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	run(`document.fonts.ready.then(() => true)`, chromedp.EvalAwaitPromise)
	if n := run(`document.querySelectorAll('figure[data-chart] > svg').length`); n != float64(4) {
		t.Errorf("%v SVG charts in the page, want 4", n)
	}
	if fam := run(`getComputedStyle(document.querySelector('#chart-gantt svg text')).fontFamily`); !strings.Contains(fam.(string), CJKFamily) {
		t.Errorf("chart text font-family %q, want %s", fam, CJKFamily)
	}
	if ok := run(`document.fonts.check('12px "` + CJKFamily + `"', '自查自纠')`); ok != true {
		t.Errorf("document.fonts.check says %s cannot draw 自查自纠", CJKFamily)
	}

	// The font Chromium actually drew a Chinese label's glyphs with (the
	// Gantt's title, 工作计划).
	ids, err := chromedp.Run(ctx, chromedp.QueryNodeIDs(chromedp.CSS("#chart-gantt svg text")))
	if err != nil || len(ids) == 0 {
		t.Fatalf("no text in the Gantt chart: %v", err)
	}
	var used []string
	cjk := 0
	for _, id := range ids {
		res, err := chromedp.Call(ctx, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Fonts {
			used = append(used, f.FamilyName)
			if strings.HasPrefix(f.FamilyName, "Noto Sans CJK") {
				cjk += int(f.GlyphCount)
			}
		}
	}
	t.Logf("fonts used for the Gantt's labels: %v (%d glyphs in Noto Sans CJK)", used, cjk)
	if cjk == 0 {
		t.Errorf("the Chinese labels were drawn with %v, not Noto Sans CJK", used)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(artifactDir(t), "report.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))

	mu.Lock()
	defer mu.Unlock()
	for _, u := range requested {
		if !strings.HasPrefix(u, "data:") && u != srv.URL+"/report.html" {
			t.Errorf("the page requested %s", u)
		}
	}
	if !slices.Contains(requested, srv.URL+"/report.html") {
		t.Errorf("the network listener saw %v, not the page itself", requested)
	}
	if len(served) != 1 || served[0] != "/report.html" {
		t.Errorf("the server served %v, want only /report.html", served)
	}
}
