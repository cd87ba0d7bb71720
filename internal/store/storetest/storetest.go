package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// Run runs the contract suite. open must return a new, empty store for the
// test it is given and arrange for it to be closed (t.Cleanup); each
// subtest opens its own.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Ping", func(t *testing.T) {
		if err := open(t).Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("Apps", func(t *testing.T) { testApps(t, open) })
	t.Run("Upsert", func(t *testing.T) { testUpsert(t, open) })
	t.Run("ByToken", func(t *testing.T) { testByToken(t, open) })
	t.Run("BulkUpsert", func(t *testing.T) { testBulkUpsert(t, open) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, open) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open) })
	t.Run("List", func(t *testing.T) { testList(t, open) })
	t.Run("Count", func(t *testing.T) { testCount(t, open) })
	t.Run("Tags", func(t *testing.T) { testTags(t, open) })
	t.Run("Alias", func(t *testing.T) { testAlias(t, open) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Messages", func(t *testing.T) { testMessages(t, open) })
	t.Run("MessageState", func(t *testing.T) { testMessageState(t, open) })
	t.Run("Fanout", func(t *testing.T) { testFanout(t, open) })
	t.Run("PendingRecipients", func(t *testing.T) { testPending(t, open) })
	t.Run("Outcomes", func(t *testing.T) { testOutcomes(t, open) })
	t.Run("Audience", func(t *testing.T) { testAudience(t, open) })
	t.Run("AudienceRandom", func(t *testing.T) { testAudienceRandom(t, open) })
	t.Run("AudienceLists", func(t *testing.T) { testAudienceLists(t, open) })
	t.Run("MessageIsolation", func(t *testing.T) { testMessageIsolation(t, open) })
	t.Run("Timeline", func(t *testing.T) { testTimeline(t, open) })
	t.Run("ChannelCounts", func(t *testing.T) { testChannelCounts(t, open) })
	t.Run("ChannelCredentials", func(t *testing.T) { testChannelCredentials(t, open) })
	t.Run("Engagement", func(t *testing.T) { testEngagement(t, open) })
	t.Run("Callbacks", func(t *testing.T) { testCallbacks(t, open) })
	t.Run("Segments", func(t *testing.T) { testSegments(t, open) })
	t.Run("SegmentAudience", func(t *testing.T) { testSegmentAudience(t, open) })
}

// newApp creates an app with id and a full set of fresh credentials.
func newApp(t *testing.T, s store.Store, id string) store.App {
	t.Helper()
	a := store.App{
		ID:                  id,
		Name:                "App " + id,
		CreatedAt:           time.Now().Truncate(time.Millisecond).UTC(),
		APIKeyHash:          hash(),
		EngageLabAppKey:     "el-" + rand.Text(),
		EngageLabSecretHash: hash(),
		NajvaTokenHash:      hash(),
		NajvaAPIKey:         rand.Text(),
		WebtoappKeyHash:     hash(),
		VAPIDPublicKey:      randBytes(65),
		VAPIDPrivateEnc:     randBytes(60),
		VAPIDSubject:        "mailto:ops@" + id + ".example",
	}
	if err := s.CreateApp(t.Context(), a); err != nil {
		t.Fatalf("CreateApp(%s): %v", id, err)
	}
	return a
}

// hash returns the SHA-256 of a fresh random secret, as the app layer
// stores credentials.
func hash() []byte {
	h := sha256.Sum256(randBytes(32))
	return h[:]
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return b
}

// webpush returns an unsaved Web Push subscriber of app, told apart by n.
func webpush(appID string, n int, tags ...string) store.Subscriber {
	return store.Subscriber{
		AppID:          appID,
		RegistrationID: fmt.Sprintf("reg-%s-%d-%s", appID, n, rand.Text()[:8]),
		Channel:        store.ChannelWebPush,
		Token:          fmt.Sprintf("https://push.example/send/%s-%d", appID, n),
		P256DH:         randBytes(65),
		Auth:           randBytes(16),
		Tags:           tags,
		Language:       "en",
		Timezone:       "UTC",
	}
}

// device returns an unsaved FCM or APNs subscriber.
func device(appID string, ch store.Channel, token string) store.Subscriber {
	return store.Subscriber{AppID: appID, Channel: ch, Token: token}
}

func mustUpsert(t *testing.T, s store.Store, sub store.Subscriber) store.Subscriber {
	t.Helper()
	res, err := s.UpsertSubscriber(t.Context(), sub)
	if err != nil {
		t.Fatalf("UpsertSubscriber(%s %s): %v", sub.Channel, sub.Token, err)
	}
	return res.Subscriber
}

func mustGet(t *testing.T, s store.Store, appID, regID string) store.Subscriber {
	t.Helper()
	sub, err := s.Subscriber(t.Context(), appID, regID)
	if err != nil {
		t.Fatalf("Subscriber(%s, %s): %v", appID, regID, err)
	}
	return sub
}

func mustList(t *testing.T, s store.Store, appID string, f store.SubscriberFilter) []store.Subscriber {
	t.Helper()
	subs, err := s.ListSubscribers(t.Context(), appID, f)
	if err != nil {
		t.Fatalf("ListSubscribers(%s, %+v): %v", appID, f, err)
	}
	return subs
}

func mustCount(t *testing.T, s store.Store, appID string, f store.SubscriberFilter) int64 {
	t.Helper()
	n, err := s.CountSubscribers(t.Context(), appID, f)
	if err != nil {
		t.Fatalf("CountSubscribers(%s, %+v): %v", appID, f, err)
	}
	return n
}

// sameMS reports whether two times name the same millisecond.
func sameMS(a, b time.Time) bool { return a.UnixMilli() == b.UnixMilli() }

// ms returns a time at millisecond precision, as backends store it.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

func ptr[T any](v T) *T { return &v }

func idsOf(subs []store.Subscriber) []int64 {
	ids := make([]int64, len(subs))
	for i, s := range subs {
		ids[i] = s.ID
	}
	return ids
}

func regIDsOf(subs []store.Subscriber) []string {
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.RegistrationID
	}
	return ids
}

// sameTags compares tag sets, treating nil and empty alike.
func sameTags(got, want []string) bool {
	return len(got) == 0 && len(want) == 0 || slices.Equal(got, want)
}

// checkSub compares what a backend stored with what was sent, field by
// field, ignoring the store-set fields (ID, times) unless set in want.
func checkSub(t *testing.T, what string, got, want store.Subscriber) {
	t.Helper()
	if want.ID != 0 && got.ID != want.ID {
		t.Errorf("%s: ID = %d, want %d", what, got.ID, want.ID)
	}
	if got.AppID != want.AppID || got.RegistrationID != want.RegistrationID ||
		got.Channel != want.Channel || got.Token != want.Token {
		t.Errorf("%s: identity = %s/%s/%s/%s, want %s/%s/%s/%s", what,
			got.AppID, got.RegistrationID, got.Channel, got.Token,
			want.AppID, want.RegistrationID, want.Channel, want.Token)
	}
	if !slices.Equal(got.P256DH, want.P256DH) || !slices.Equal(got.Auth, want.Auth) {
		t.Errorf("%s: keys differ: p256dh %x auth %x, want %x %x", what, got.P256DH, got.Auth, want.P256DH, want.Auth)
	}
	if !sameTags(got.Tags, want.Tags) {
		t.Errorf("%s: Tags = %q, want %q", what, got.Tags, want.Tags)
	}
	if got.Alias != want.Alias || got.Language != want.Language || got.Timezone != want.Timezone {
		t.Errorf("%s: alias/language/timezone = %q/%q/%q, want %q/%q/%q", what,
			got.Alias, got.Language, got.Timezone, want.Alias, want.Language, want.Timezone)
	}
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"LastActiveAt", got.LastActiveAt, want.LastActiveAt},
		{"LastClickedAt", got.LastClickedAt, want.LastClickedAt},
	} {
		if !tm.want.IsZero() && !sameMS(tm.got, tm.want) {
			t.Errorf("%s: %s = %v, want %v", what, tm.name, tm.got, tm.want)
		}
	}
}
