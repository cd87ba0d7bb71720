// Package audience owns Herald's target expressions: who a message goes
// to. A target is a store.Audience, whose non-empty parts combine with
// AND — registration ids (OR), tags (OR), tags_and (AND), tags_not (NOT of
// the OR), aliases, languages, time zones and channels (each OR), and
// activity since a time — so that EngageLab's
// {"tag":[a,b],"tag_and":[c,d],"tag_not":[e,f]} means (a∨b)∧c∧d∧¬(e∨f).
//
// # Job
//
// Validate checks an expression against the limits every entry point
// shares (EngageLab's: at most 1,000 registration ids, 20 tags_and and 20
// tags_not, and tags_not never alone), naming the faulty field as a JSON
// path under "to" (to.tags_and, to.tags[3]) in a *jsonreq.FieldError, so
// that the API and the compat adapters report it the same way. The send
// package calls it before a message is stored.
//
// Saved segments (store.Segment) hold rules: the same lists, plus "last
// active within" and "last clicked within" windows written "6h" / "7d"
// (RulesDoc, ParseWindow). ValidateRules checks them with the target
// limits, naming fields under "rules"; a segment may hold tags_not alone.
// A target names at most MaxSegments segments to include and as many to
// exclude; package send copies their rules into the message's audience
// (store.Audience.AnyOf / NoneOf) when it is sent.
//
// # Limits
//
// The package does not resolve expressions: the store evaluates them
// (store.Messages.AudiencePage streams the members in id order, pages of
// a few hundred, memory flat whatever the audience's size), nested
// segment expressions included.
//
// # Concurrency
//
// Everything here is a pure function of its arguments and safe for
// concurrent use.
package audience
