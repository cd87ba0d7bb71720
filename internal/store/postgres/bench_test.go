package postgres

import (
	"fmt"
	"testing"

	"github.com/heraldpush/herald/internal/store"
)

// BenchmarkAudiencePageDeep reads one 500-member page of a common tag far
// into a 100,000-subscriber app, as the fanout does on its later pages.
// A page must cost its own size, not the app's: with a plain join of the
// tag table, PostgreSQL merge-joined from the first subscriber, and a deep
// page took 43 ms here (~700 ms at 1,000,000 subscribers); with the
// LATERAL lookup (audiencePlan.from), ~0.9 ms on this shared 2-core machine.
func BenchmarkAudiencePageDeep(b *testing.B) {
	s := openTest(b)
	ctx := b.Context()
	if err := s.CreateApp(ctx, store.App{ID: "a", Name: "A"}); err != nil {
		b.Fatal(err)
	}
	const n = 100000
	rows := make([]store.Subscriber, 0, 2000)
	for i := 0; i < n; i += cap(rows) {
		rows = rows[:0]
		for j := i; j < i+cap(rows); j++ {
			sub := store.Subscriber{AppID: "a", Channel: store.ChannelFCM, Token: fmt.Sprintf("t%d", j), Tags: []string{"rare"}}
			if j%2 == 0 {
				sub.Tags = []string{"common"}
			}
			rows = append(rows, sub)
		}
		if _, _, err := s.UpsertSubscribers(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	all, err := s.AudiencePage(ctx, "a", store.Audience{}, 0, n)
	if err != nil {
		b.Fatal(err)
	}
	cursor := all[len(all)*9/10].ID
	a := store.Audience{Tags: []string{"common"}}
	b.ResetTimer()
	for b.Loop() {
		page, err := s.AudiencePage(ctx, "a", a, cursor, 500)
		if err != nil || len(page) != 500 {
			b.Fatalf("page: %d members, %v", len(page), err)
		}
	}
}
