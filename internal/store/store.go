package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every backend returns, wrapped with context.
var (
	// ErrNotFound says the named row does not exist for this app.
	ErrNotFound = errors.New("not found")
	// ErrConflict says a unique value (an app id, a credential) is taken.
	ErrConflict = errors.New("conflict")
)

// Store is the whole persistence interface. Every method that names an app
// acts on that app's rows only.
type Store interface {
	Apps
	Subscribers
	Messages
	ChannelCredentials
	Timelines
	Engagements
	Callbacks
	Segments
	// Ping checks that the store answers; /readyz uses it.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// Apps keeps tenants and their credentials.
type Apps interface {
	// CreateApp inserts a new app. ErrConflict if its id or any credential
	// lookup value is already used.
	CreateApp(ctx context.Context, a App) error
	// App returns one app by id.
	App(ctx context.Context, id string) (App, error)
	// AppByCredential finds the app owning a credential. For hashed kinds
	// value is the hash (see the App fields); for CredEngageLabAppKey and
	// CredNajvaAPIKey it is the plain identifier. An empty value is
	// ErrNotFound. CredEngageLabSecret is refused (an error that is not
	// ErrNotFound): the master secret is not unique across apps, so callers
	// look the app up by CredEngageLabAppKey and compare the secret's hash
	// in constant time (internal/apps does).
	AppByCredential(ctx context.Context, kind CredentialKind, value []byte) (App, error)
	// ListApps returns every app, oldest first.
	ListApps(ctx context.Context) ([]App, error)
	// UpdateApp replaces the mutable fields of an app (name, credentials,
	// VAPID key, settings). ErrNotFound if it does not exist.
	UpdateApp(ctx context.Context, a App) error
}

// CredentialKind names one of an app's credentials.
type CredentialKind string

// The credential kinds. Hashed kinds are looked up by SHA-256 of the secret.
const (
	CredAPIKey          CredentialKind = "api_key"                 // hashed
	CredEngageLabAppKey CredentialKind = "engagelab_app_key"       // plain identifier
	CredEngageLabSecret CredentialKind = "engagelab_master_secret" // hashed, not unique alone, never a lookup key
	CredNajvaToken      CredentialKind = "najva_token"             // hashed
	CredNajvaAPIKey     CredentialKind = "najva_api_key"           // plain uuid
	CredWebtoappKey     CredentialKind = "webtoapp_api_key"        // hashed
)

// App is one tenant. Secrets are never held in clear: *Hash fields are
// SHA-256 digests of high-entropy random secrets, and VAPIDPrivateEnc is the
// VAPID private key sealed with the master key.
type App struct {
	ID        string
	Name      string
	CreatedAt time.Time

	APIKeyHash          []byte
	EngageLabAppKey     string
	EngageLabSecretHash []byte
	NajvaTokenHash      []byte
	NajvaAPIKey         string
	WebtoappKeyHash     []byte

	VAPIDPublicKey  []byte // 65-byte uncompressed P-256 point
	VAPIDPrivateEnc []byte // sealed 32-byte scalar
	VAPIDSubject    string // mailto: or https: contact sent in VAPID JWTs
}

// Channel is a subscriber's delivery channel.
type Channel string

// The channels Herald delivers through.
const (
	ChannelWebPush Channel = "webpush"
	ChannelFCM     Channel = "fcm"
	ChannelAPNs    Channel = "apns"
)

// Subscriber is one registered browser or app install.
type Subscriber struct {
	ID             int64  // internal, increasing; audiences stream in ID order
	AppID          string // owning app
	RegistrationID string // opaque id handed to clients
	Channel        Channel
	// Token is the Web Push endpoint URL or the FCM / APNs device token. It
	// is unique per app and channel: registering it again updates the row.
	Token  string
	P256DH []byte // Web Push only: 65-byte point
	Auth   []byte // Web Push only: 16-byte secret

	Tags     []string // sorted, unique
	Alias    string
	Language string
	Timezone string

	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastActiveAt  time.Time
	LastClickedAt time.Time // zero if never
}

// TagChange says how UpdateSubscriber changes tags.
type TagChange struct {
	Replace bool     // replace the whole set with Add
	Add     []string // tags to add (or the new set when Replace)
	Remove  []string // tags to remove (ignored when Replace)
}

// SubscriberUpdate holds the fields to change; nil pointers stay as they are.
// Times are set as given (they may move back); a zero LastClickedAt stores
// "never".
type SubscriberUpdate struct {
	Tags          *TagChange
	Alias         *string // "" unbinds
	Language      *string
	Timezone      *string
	LastActiveAt  *time.Time
	LastClickedAt *time.Time // a notification was clicked (service worker report)
}

// SubscriberFilter narrows ListSubscribers. Zero fields do not filter.
type SubscriberFilter struct {
	Tag         string
	Alias       string
	Channel     Channel
	Language    string
	ActiveSince time.Time
	AfterID     int64 // cursor: only rows with ID > AfterID
	Limit       int   // 0 means the backend's default (100); capped at 1000
}

// TagCount is one tag and how many of an app's subscribers carry it.
type TagCount struct {
	Tag         string
	Subscribers int64
}

// UpsertResult reports what an upsert did.
type UpsertResult struct {
	Subscriber Subscriber // the row as stored
	Created    bool       // false when an existing registration was updated
}

// Subscribers keeps an app's registered devices, their tags and aliases.
type Subscribers interface {
	// UpsertSubscriber inserts s, or, when the app already has a subscriber
	// with the same channel and token, updates it in place and keeps its ID,
	// RegistrationID and CreatedAt. s.RegistrationID is used only on insert;
	// empty, the store issues a random one. Zero CreatedAt, UpdatedAt and
	// LastActiveAt are stamped with the store's clock; non-zero ones are
	// kept (an import keeps its history). On update, empty strings and byte
	// slices keep the stored value (a re-registration without an alias does
	// not unbind it), and LastActiveAt and LastClickedAt never move back.
	// Tags given replace the stored set (an empty non-nil slice clears it);
	// nil Tags keep it. ErrNotFound if the app does not exist; ErrConflict
	// if s.RegistrationID is already used, by any app. A backend may write
	// concurrent calls in one transaction (SQLite does: group commit), but
	// each call's outcome is its own, one call's refused row never fails
	// another's, and a call returns only once its row is committed.
	UpsertSubscriber(ctx context.Context, s Subscriber) (UpsertResult, error)
	// UpsertSubscribers does the same for many rows in one transaction and
	// returns how many were created and updated. Bulk registration and
	// imports use it. The outcome is exactly that of upserting subs one
	// after the other in order (a backend may use multi-row statements, but
	// must keep this): a token that appears twice is created (or updated)
	// by its first row and updated by the later one, whose given values and
	// tags win; an empty non-nil Tags on a later row clears the set. New
	// rows get increasing IDs in the order of subs. created counts rows that
	// did not exist before the call, updated every other row (so created +
	// updated = len(subs)). All or nothing: if any row fails (ErrNotFound
	// for a missing app, ErrConflict for a RegistrationID already used,
	// an error naming the row for a row without app, channel or token),
	// none is stored. Empty subs is 0, 0, nil.
	UpsertSubscribers(ctx context.Context, subs []Subscriber) (created, updated int, err error)
	// Subscriber returns one subscriber by registration id.
	Subscriber(ctx context.Context, appID, registrationID string) (Subscriber, error)
	// SubscriberByToken returns the app's subscriber of channel ch with
	// this token (a Web Push endpoint, an FCM or APNs device token): what
	// a native app knows of itself. ErrNotFound if there is none.
	SubscriberByToken(ctx context.Context, appID string, ch Channel, token string) (Subscriber, error)
	// UpdateSubscriber applies u and returns the row after the change.
	// TagChange.Remove is applied before Add, so a tag named in both ends up
	// set. An update that changes nothing leaves UpdatedAt alone; any other
	// stamps it. ErrNotFound if the app has no such subscriber.
	UpdateSubscriber(ctx context.Context, appID, registrationID string, u SubscriberUpdate) (Subscriber, error)
	// DeleteSubscriber removes one subscriber and its tags.
	DeleteSubscriber(ctx context.Context, appID, registrationID string) error
	// DeleteSubscribersByID removes subscribers by internal id (pruning).
	// Ids of other apps are ignored. It returns how many were removed.
	DeleteSubscribersByID(ctx context.Context, appID string, ids []int64) (int64, error)
	// ListSubscribers returns subscribers matching f in ID order.
	ListSubscribers(ctx context.Context, appID string, f SubscriberFilter) ([]Subscriber, error)
	// CountSubscribers counts subscribers matching f (AfterID and Limit ignored).
	CountSubscribers(ctx context.Context, appID string, f SubscriberFilter) (int64, error)
	// ListTags returns the app's tags with their subscriber counts, by tag.
	ListTags(ctx context.Context, appID string) ([]TagCount, error)
	// DeleteTag removes a tag from every subscriber of the app, stamps their
	// UpdatedAt, and returns how many lost it. A tag nobody has is 0, not an
	// error; the subscribers themselves stay.
	DeleteTag(ctx context.Context, appID, tag string) (int64, error)
	// UnbindAlias clears an alias from every subscriber of the app that has
	// it, stamps their UpdatedAt, and returns how many were unbound. An
	// alias nobody has, and the empty alias, are 0, not an error.
	UnbindAlias(ctx context.Context, appID, alias string) (int64, error)
}
