package sdk

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// The SDK's JavaScript. go:embed needs package variables; they are read
// once, by newAssets, and never changed. herald.js is written in parts by
// responsibility (herald/*.js, each a complete script) and served as one
// file, the parts concatenated in name order (jstest loads it the same way).
var (
	//go:embed herald/*.js
	heraldParts embed.FS
	//go:embed herald-sw.js
	heraldSWJS []byte
)

// heraldJS is the served herald.js: the parts of herald/ in name order.
func heraldJS() []byte {
	names, err := fs.Glob(heraldParts, "herald/*.js") // sorted
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("sdk: no embedded herald/*.js parts (%v)", err)) // the build embeds them
	}
	var b bytes.Buffer
	for _, n := range names {
		part, _ := heraldParts.ReadFile(n)
		b.Write(part)
		if !bytes.HasSuffix(part, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Cache lifetimes. The plain names are revalidated (ETag) so a new Herald
// reaches browsers soon; the worker always, since browsers cache imported
// worker scripts by HTTP rules. Hashed names never change.
const (
	cachePlain     = "public, max-age=300"
	cacheWorker    = "no-cache"
	cacheImmutable = "public, max-age=31536000, immutable"
)

// asset is one embedded file with its content-hashed name.
type asset struct {
	name   string // herald.js
	hashed string // herald.0123456789.js
	body   []byte
	etag   string
}

// newAssets names the embedded files by their SHA-256.
func newAssets() []asset {
	var out []asset
	for _, f := range []struct {
		name string
		body []byte
	}{{"herald.js", heraldJS()}, {"herald-sw.js", heraldSWJS}} {
		sum := sha256.Sum256(f.body)
		h := hex.EncodeToString(sum[:])[:12]
		out = append(out, asset{name: f.name, hashed: strings.TrimSuffix(f.name, ".js") + "." + h + ".js", body: f.body, etag: `"` + h + `"`})
	}
	return out
}

// serve answers GET (and HEAD) for a, with conditional requests.
func (a asset) serve(cacheControl string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", cacheControl)
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Access-Control-Allow-Origin", "*")
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
	}
}
