package admin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

//go:embed templates
var templateFS embed.FS

// asset is one embedded file served under a content-hashed name.
type asset struct {
	body        []byte
	contentType string
}

// assets maps each static file to its hashed URL and back.
type assets struct {
	urls   map[string]string // "admin.css" → "/admin/static/admin.1a2b3c4d5e6f.css"
	byName map[string]asset  // "admin.1a2b3c4d5e6f.css" → the file
}

func loadAssets() (*assets, error) {
	a := &assets{urls: map[string]string{}, byName: map[string]asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := path.Base(p)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}[ext]
		if ct == "" {
			return fmt.Errorf("admin: static file %s: unknown type", p)
		}
		a.urls[name] = "/admin/static/" + hashed
		a.byName[hashed] = asset{body: b, contentType: ct}
		return nil
	})
	return a, err
}

// url returns the hashed URL of a static file; templates call it.
func (a *assets) url(name string) (string, error) {
	u, ok := a.urls[name]
	if !ok {
		return "", fmt.Errorf("admin: no static file %q", name)
	}
	return u, nil
}

// serve answers GET /admin/static/{name}. Names carry the content's hash,
// so they are cached for good.
func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	f, ok := a.byName[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(f.body)
}
