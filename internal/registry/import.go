package registry

import (
	"github.com/heraldpush/herald/internal/secret"
	"github.com/heraldpush/herald/internal/store"
)

// Validate checks r by the rules Register applies and returns the
// subscriber row it describes, with no app, registration id or times
// set. Bulk imports use it to check each row on its own (and report the
// bad ones) before writing the good ones in batches with
// store.Subscribers.UpsertSubscribers. Like every Service method it is
// safe for concurrent use.
func (s *Service) Validate(r Registration) (store.Subscriber, error) {
	return s.validate(r)
}

// NewRegistrationID returns a fresh opaque registration id of the form
// Register issues, for callers that write rows Validate returned.
func NewRegistrationID() string {
	return registrationPrefix + secret.Token("", 16)
}
