package testpush

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/heraldpush/herald/internal/webpush"
)

const (
	chunkBits = 12
	chunkSize = 1 << chunkBits
	maxChunks = 1 << 12
	// MaxSubscriptions is how many subscriptions one Server can hold.
	MaxSubscriptions = chunkSize * maxChunks
	// authLen is the length of a subscription's auth secret (RFC 8291).
	authLen = 16
)

// ErrTooManySubscriptions is returned when a Server already holds
// MaxSubscriptions subscriptions.
var ErrTooManySubscriptions = errors.New("testpush: too many subscriptions")

// Subscription is what a browser's PushSubscription.toJSON() gives an
// application: an endpoint and the receiver's keys, base64url unpadded.
// It marshals to that same JSON.
type Subscription struct {
	// ID is the last path segment of Endpoint, the key for Received,
	// Deliveries and Fail.
	ID string `json:"-"`
	// Endpoint is where to POST pushes: BaseURL + "/wpush/" + ID.
	Endpoint string `json:"endpoint"`
	// Keys are what a sender encrypts to.
	Keys SubscriptionKeys `json:"keys"`
}

// SubscriptionKeys are a subscription's receiver keys, base64url unpadded.
type SubscriptionKeys struct {
	// P256DH is the receiver's uncompressed P-256 public key.
	P256DH string `json:"p256dh"`
	// Auth is the 16-byte auth secret.
	Auth string `json:"auth"`
}

// WebPush decodes the subscription into the form internal/webpush sends
// to.
func (s Subscription) WebPush() (webpush.Subscription, error) {
	p, err := base64.RawURLEncoding.DecodeString(s.Keys.P256DH)
	if err != nil {
		return webpush.Subscription{}, fmt.Errorf("testpush: p256dh of %s: %w", s.ID, err)
	}
	a, err := base64.RawURLEncoding.DecodeString(s.Keys.Auth)
	if err != nil {
		return webpush.Subscription{}, fmt.Errorf("testpush: auth of %s: %w", s.ID, err)
	}
	return webpush.Subscription{Endpoint: s.Endpoint, Keys: webpush.Keys{P256DH: p, Auth: a}}, nil
}

// receiver is what the push path needs to know about a subscription. It is
// immutable once published; many subscriptions may share one.
type receiver struct {
	priv    *ecdh.PrivateKey // nil for browser subscriptions: the browser decrypts
	auth    []byte
	appKey  []byte   // application server key given at subscribe time, or nil
	channel *channel // the browser channel to forward to, or nil
}

// entry is one slot of the table: 24 bytes, so a million subscriptions
// cost 24 MB plus their shared receivers.
type entry struct {
	recv  atomic.Pointer[receiver]
	log   atomic.Pointer[msgLog] // only with Options.Record
	count atomic.Uint32          // accepted pushes, duplicates included
	gone  atomic.Bool            // removed or unregistered: answer 410
}

type chunk [chunkSize]entry

// table maps numeric subscription ids to entries without locks: ids are
// handed out by an atomic counter and chunks are installed by
// compare-and-swap, so lookups on the push path never wait.
type table struct {
	next   atomic.Uint64
	chunks [maxChunks]atomic.Pointer[chunk]
}

// add reserves n consecutive ids, publishes r for each and returns the
// first.
func (t *table) add(n int, r *receiver) (uint64, error) {
	var first uint64
	for {
		first = t.next.Load()
		if first+uint64(n) > MaxSubscriptions {
			return 0, fmt.Errorf("%w: %d held, %d more asked", ErrTooManySubscriptions, first, n)
		}
		if t.next.CompareAndSwap(first, first+uint64(n)) {
			break
		}
	}
	for i := first; i < first+uint64(n); i++ {
		t.slot(i, true).recv.Store(r)
	}
	return first, nil
}

// slot returns the entry for index i, installing its chunk when create is
// set; it returns nil for an index whose chunk does not exist.
func (t *table) slot(i uint64, create bool) *entry {
	p := &t.chunks[i>>chunkBits]
	c := p.Load()
	if c == nil {
		if !create {
			return nil
		}
		p.CompareAndSwap(nil, new(chunk))
		c = p.Load()
	}
	return &c[i&(chunkSize-1)]
}

// lookup finds a published subscription by id; it returns nil for ids
// that were never handed out or are still being published.
func (t *table) lookup(id string) (*entry, *receiver) {
	i, err := strconv.ParseUint(id, 10, 64)
	if err != nil || i >= t.next.Load() {
		return nil, nil
	}
	e := t.slot(i, false)
	if e == nil {
		return nil, nil
	}
	r := e.recv.Load()
	if r == nil {
		return nil, nil
	}
	return e, r
}

// NewSubscription creates a subscription with its own receiver key pair
// and auth secret, as a browser would, and no application server key.
func (s *Server) NewSubscription() (Subscription, error) {
	return s.newSubscription(nil)
}

// NewSubscriptionWithKey is NewSubscription for a subscriber that passed
// applicationServerKey (a 65-byte uncompressed P-256 point) to subscribe():
// pushes signed with any other VAPID key are then refused with 403.
func (s *Server) NewSubscriptionWithKey(applicationServerKey []byte) (Subscription, error) {
	// ecdh accepts only the uncompressed form for P-256.
	if _, err := ecdh.P256().NewPublicKey(applicationServerKey); err != nil {
		return Subscription{}, fmt.Errorf("testpush: application server key is not an uncompressed P-256 point: %w", err)
	}
	return s.newSubscription(append([]byte(nil), applicationServerKey...))
}

func (s *Server) newSubscription(appKey []byte) (Subscription, error) {
	subs, err := s.newBatch(1, appKey)
	if err != nil {
		return Subscription{}, err
	}
	return subs[0], nil
}

// NewSubscriptions creates n subscriptions cheaply, for benchmarks. They
// have distinct endpoints and delivery counters but share ONE receiver key
// pair and auth secret: generating a P-256 key per subscription would cost
// more than the benchmark. A sender cannot tell, since it encrypts each
// message with a fresh ephemeral key anyway.
func (s *Server) NewSubscriptions(n int) ([]Subscription, error) {
	if n <= 0 {
		return nil, nil
	}
	return s.newBatch(n, nil)
}

func (s *Server) newBatch(n int, appKey []byte) ([]Subscription, error) {
	if s.base == "" {
		return nil, errors.New("testpush: no base URL: set Options.BaseURL or use Start")
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testpush: generate receiver key: %w", err)
	}
	auth := make([]byte, authLen)
	if _, err := rand.Read(auth); err != nil {
		return nil, fmt.Errorf("testpush: generate auth secret: %w", err)
	}
	r := &receiver{priv: priv, auth: auth, appKey: appKey}
	first, err := s.subs.add(n, r)
	if err != nil {
		return nil, err
	}
	keys := SubscriptionKeys{
		P256DH: base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(auth),
	}
	prefix := s.endpointPrefix()
	out := make([]Subscription, n)
	for i := range out {
		ep := prefix + strconv.FormatUint(first+uint64(i), 10)
		out[i] = Subscription{ID: ep[len(prefix):], Endpoint: ep, Keys: keys}
	}
	return out, nil
}

// endpointPrefix is what every endpoint starts with, up to the id.
func (s *Server) endpointPrefix() string { return s.base + "/wpush/" }

// Remove ends a subscription: later pushes to it are answered 410 Gone,
// as a push service does once the user unsubscribed. Its recorded
// messages and counts stay readable. It reports whether id existed.
func (s *Server) Remove(id string) bool {
	e, _ := s.subs.lookup(id)
	if e == nil {
		return false
	}
	e.gone.Store(true)
	return true
}
