package tracking

import "net/http"

// The CORS answer of Herald's open endpoints (the SDK's and the events
// endpoint). They are called from the site's pages and service worker,
// whose origin is not Herald's, and they take no cookies or credentials of
// any kind (a device key is a header, a signature is in the body), so any
// origin may call them and no Access-Control-Allow-Credentials is sent.
const (
	corsMethods = "GET, POST, PATCH, DELETE, OPTIONS"
	corsHeaders = "Content-Type, X-Herald-App, X-Herald-Device-Key"
	corsMaxAge  = "86400" // a day: browsers cap it lower anyway
)

// CORS adds the open endpoints' CORS headers to every answer of h, errors
// included, so that the page's script can read them.
func CORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h.ServeHTTP(w, r)
	})
}

// Preflight answers a CORS preflight (OPTIONS) for an open endpoint.
func Preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// RequestApp is the app an open request names: ?app=<id>, else the header
// X-Herald-App, else defaultApp (herald serve --default-app), else "". The
// app id is public: it only says which app a browser belongs to.
func RequestApp(r *http.Request, defaultApp string) string {
	if id := r.URL.Query().Get("app"); id != "" {
		return id
	}
	if id := r.Header.Get("X-Herald-App"); id != "" {
		return id
	}
	return defaultApp
}
