package apps

import (
	"sync"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// CredentialTTL is how long a Service answers a credential from memory
// before asking the store again. Every API request presents a credential,
// and looking it up was a query per request (about a seventh of a
// registration's CPU). A credential rotated through the same Service stops
// working at once; one rotated by another process (herald app rotate-key
// against a running server's database, or another node) stops working on
// this one within CredentialTTL.
const CredentialTTL = 2 * time.Second

// maxCached bounds the cache. Only credentials that matched an app are
// kept, so it holds at most a few entries per app; past the bound expired
// entries are swept, and if none were, everything is dropped.
const maxCached = 4096

// credCache remembers which app a credential belonged to, for
// CredentialTTL. Misses are never cached: a wrong key always reaches the
// store, so guessing keys cannot fill memory. Apps are returned by value;
// callers must not modify their byte slices.
type credCache struct {
	now func() time.Time

	mu sync.Mutex
	m  map[credKey]cachedApp
}

type credKey struct {
	kind  store.CredentialKind
	value string // the digest, or the plain identifier for plain kinds
}

type cachedApp struct {
	app   store.App
	until time.Time
}

func newCredCache(now func() time.Time) *credCache {
	return &credCache{now: now, m: map[credKey]cachedApp{}}
}

// get returns the app cached for k, if it has not expired.
func (c *credCache) get(k credKey) (store.App, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.until) {
		return store.App{}, false
	}
	return e.app, true
}

func (c *credCache) put(k credKey, a store.App) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCached {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCached {
			clear(c.m)
		}
	}
	c.m[k] = cachedApp{app: a, until: now.Add(CredentialTTL)}
}

// forget drops everything: an app's credentials or keys changed.
func (c *credCache) forget() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
