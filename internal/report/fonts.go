package report

import (
	"fmt"
	"os"
	"sync"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/font/liberation"
)

// CJKFamily is the font family of every label: Noto Sans CJK SC (Debian
// fonts-noto-cjk), which has the glyphs of the bureaus' Chinese.
const CJKFamily = "Noto Sans CJK SC"

// FontPathEnv names a TTF, OTF or TTC file to measure labels with instead
// of the default collection.
const FontPathEnv = "FLYCHECK_CJK_FONT"

// defaultFontPaths are where Debian's fonts-noto-cjk puts the collection.
var defaultFontPaths = []string{
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc",
}

var (
	fontOnce  sync.Once
	fontCache *font.Cache
	fontErr   error
)

// labelFonts is the gonum/plot font cache holding the CJK face under
// CJKFamily, loaded once per process from the .ttc collection (x/image's
// sfnt parses its CFF outlines). The face only measures text: the SVG
// names the family in font-family and the browser draws the glyphs from
// the installed font, so no font is embedded (the collection is 19 MB).
// Without the font file, labels are measured with gonum's Liberation Sans
// and the SVG names that family; a browser then draws the Chinese glyphs
// from whatever CJK font it falls back to.
func labelFonts() (*font.Cache, bool) {
	fontOnce.Do(func() {
		fontCache = font.NewCache(nil)
		face, err := loadCJK()
		if err != nil {
			// Measure with Liberation Sans, registered under the CJK
			// family so every lookup finds a face.
			fontErr = err
			for _, f := range liberation.Collection() {
				if f.Font.Variant == "Sans" && f.Font.Weight == xfont.WeightNormal && f.Font.Style == xfont.StyleNormal {
					fontCache.Add(font.Collection{{Font: font.Font{Typeface: CJKFamily}, Face: f.Face}})
				}
			}
			return
		}
		fontCache.Add(font.Collection{{Font: font.Font{Typeface: CJKFamily}, Face: face}})
	})
	return fontCache, fontErr == nil
}

func loadCJK() (*opentype.Font, error) {
	paths := defaultFontPaths
	if p := os.Getenv(FontPathEnv); p != "" {
		paths = []string{p}
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		return pickFamily(data, CJKFamily)
	}
	return nil, fmt.Errorf("no %s font in %v", CJKFamily, paths)
}

// pickFamily finds the family in a collection (or a single font file).
func pickFamily(data []byte, family string) (*opentype.Font, error) {
	coll, err := opentype.ParseCollection(data)
	if err != nil {
		return nil, err
	}
	var buf sfnt.Buffer
	for i := 0; i < coll.NumFonts(); i++ {
		f, err := coll.Font(i)
		if err != nil {
			return nil, err
		}
		name, err := f.Name(&buf, sfnt.NameIDFamily)
		if err == nil && name == family {
			return f, nil
		}
	}
	if coll.NumFonts() == 1 {
		return coll.Font(0)
	}
	return nil, fmt.Errorf("no family %q in the collection", family)
}

func fontFor() font.Font { return font.Font{Typeface: CJKFamily} }
