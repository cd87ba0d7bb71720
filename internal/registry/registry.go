package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldpush/herald/internal/egress"
	"github.com/heraldpush/herald/internal/store"
)

// ErrNotFound says the registration id (or alias) is not one of this app's.
var ErrNotFound = errors.New("registry: not found")

// registrationPrefix marks Herald's opaque ids.
const registrationPrefix = "r_"

// Service registers and manages an app's devices.
type Service struct {
	store  store.Subscribers
	egress egress.Policy
	now    func() time.Time
}

// New returns a Service over st. Web Push endpoints must pass policy.
func New(st store.Subscribers, policy egress.Policy, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, egress: policy, now: now}
}

// Register validates r and stores it for appID, or updates the device
// already registered with the same endpoint or token. It returns the stored
// row and whether it was new.
func (s *Service) Register(ctx context.Context, appID string, r Registration) (store.UpsertResult, error) {
	sub, err := s.validate(r)
	if err != nil {
		return store.UpsertResult{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	sub.AppID = appID
	sub.RegistrationID = newRegistrationID(s.now())
	sub.CreatedAt, sub.UpdatedAt, sub.LastActiveAt = now, now, now
	res, err := s.store.UpsertSubscriber(ctx, sub)
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("registry: register for %s: %w", appID, err)
	}
	return res, nil
}

// RegisterMany validates and stores many registrations in one transaction.
// The first invalid one stops it before anything is written; its FieldError
// names it by index ("[3].token").
func (s *Service) RegisterMany(ctx context.Context, appID string, rs []Registration) (created, updated int, err error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	subs := make([]store.Subscriber, 0, len(rs))
	for i, r := range rs {
		sub, err := s.validate(r)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return 0, 0, fieldErr(fmt.Sprintf("[%d].%s", i, fe.Field), "%s", fe.Message)
			}
			return 0, 0, err
		}
		sub.AppID = appID
		sub.RegistrationID = newRegistrationID(s.now())
		sub.CreatedAt, sub.UpdatedAt, sub.LastActiveAt = now, now, now
		subs = append(subs, sub)
	}
	created, updated, err = s.store.UpsertSubscribers(ctx, subs)
	if err != nil {
		return 0, 0, fmt.Errorf("registry: register %d for %s: %w", len(subs), appID, err)
	}
	return created, updated, nil
}

// Update describes a change to one device. Nil fields stay as they are.
type Update struct {
	Tags       []string // replaces the whole set when not nil
	AddTags    []string
	RemoveTags []string
	Alias      *string // "" unbinds
	Language   *string
	Timezone   *string
	Touch      bool // record activity now
}

// Update changes one device of appID and returns it.
func (s *Service) Update(ctx context.Context, appID, registrationID string, u Update) (store.Subscriber, error) {
	var su store.SubscriberUpdate
	switch {
	case u.Tags != nil && (len(u.AddTags) > 0 || len(u.RemoveTags) > 0):
		return store.Subscriber{}, fieldErr("tags", "cannot be combined with tags_add or tags_remove")
	case u.Tags != nil:
		tags, err := cleanTags(u.Tags, "tags")
		if err != nil {
			return store.Subscriber{}, err
		}
		su.Tags = &store.TagChange{Replace: true, Add: tags}
	case len(u.AddTags) > 0 || len(u.RemoveTags) > 0:
		add, err := cleanTags(u.AddTags, "tags_add")
		if err != nil {
			return store.Subscriber{}, err
		}
		remove, err := cleanTags(u.RemoveTags, "tags_remove")
		if err != nil {
			return store.Subscriber{}, err
		}
		su.Tags = &store.TagChange{Add: add, Remove: remove}
	}
	if u.Alias != nil {
		if err := checkAlias(*u.Alias, "alias"); err != nil {
			return store.Subscriber{}, err
		}
		su.Alias = u.Alias
	}
	if u.Language != nil {
		if err := checkLanguage(*u.Language, "language"); err != nil {
			return store.Subscriber{}, err
		}
		su.Language = u.Language
	}
	if u.Timezone != nil {
		if err := checkTimezone(*u.Timezone, "timezone"); err != nil {
			return store.Subscriber{}, err
		}
		su.Timezone = u.Timezone
	}
	if u.Touch {
		now := s.now().UTC().Truncate(time.Millisecond)
		su.LastActiveAt = &now
	}
	sub, err := s.store.UpdateSubscriber(ctx, appID, registrationID, su)
	if err != nil {
		return store.Subscriber{}, s.wrap("update", registrationID, err)
	}
	return sub, nil
}

// Get returns one device of appID.
func (s *Service) Get(ctx context.Context, appID, registrationID string) (store.Subscriber, error) {
	sub, err := s.store.Subscriber(ctx, appID, registrationID)
	if err != nil {
		return store.Subscriber{}, s.wrap("get", registrationID, err)
	}
	return sub, nil
}

// Delete removes one device of appID.
func (s *Service) Delete(ctx context.Context, appID, registrationID string) error {
	if err := s.store.DeleteSubscriber(ctx, appID, registrationID); err != nil {
		return s.wrap("delete", registrationID, err)
	}
	return nil
}

// Filter narrows List; see store.SubscriberFilter.
type Filter = store.SubscriberFilter

// List returns one page of appID's devices in registration order and the
// cursor for the next page ("" on the last page).
func (s *Service) List(ctx context.Context, appID string, f Filter) ([]store.Subscriber, int64, error) {
	if f.Tag != "" {
		if err := checkLabel(f.Tag, "tag", MaxTagLen); err != nil {
			return nil, 0, err
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		return nil, 0, fieldErr("limit", "must be at most 1000")
	}
	f.Limit = limit
	subs, err := s.store.ListSubscribers(ctx, appID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("registry: list for %s: %w", appID, err)
	}
	// A full page may be followed by more; the page after the last full
	// one is empty, which costs a request but no count query.
	var next int64
	if len(subs) == limit {
		next = subs[limit-1].ID
	}
	return subs, next, nil
}

// Count counts appID's devices matching f.
func (s *Service) Count(ctx context.Context, appID string, f Filter) (int64, error) {
	n, err := s.store.CountSubscribers(ctx, appID, f)
	if err != nil {
		return 0, fmt.Errorf("registry: count for %s: %w", appID, err)
	}
	return n, nil
}

// Tags lists appID's tags with their device counts.
func (s *Service) Tags(ctx context.Context, appID string) ([]store.TagCount, error) {
	tags, err := s.store.ListTags(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("registry: tags of %s: %w", appID, err)
	}
	return tags, nil
}

// DeleteTag removes tag from all of appID's devices.
func (s *Service) DeleteTag(ctx context.Context, appID, tag string) (int64, error) {
	if err := checkLabel(tag, "tag", MaxTagLen); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteTag(ctx, appID, tag)
	if err != nil {
		return 0, fmt.Errorf("registry: delete tag of %s: %w", appID, err)
	}
	return n, nil
}

// UnbindAlias clears alias from all of appID's devices.
func (s *Service) UnbindAlias(ctx context.Context, appID, alias string) (int64, error) {
	if err := checkAlias(alias, "alias"); err != nil {
		return 0, err
	}
	n, err := s.store.UnbindAlias(ctx, appID, alias)
	if err != nil {
		return 0, fmt.Errorf("registry: unbind alias of %s: %w", appID, err)
	}
	return n, nil
}

func (s *Service) wrap(op, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("registry: %s %s: %w", op, id, ErrNotFound)
	}
	return fmt.Errorf("registry: %s %s: %w", op, id, err)
}
