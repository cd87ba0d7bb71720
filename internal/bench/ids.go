package bench

import (
	"strconv"

	"github.com/heraldpush/herald/internal/testpush"
)

// idSet holds testpush subscription ids compactly: runs of consecutive
// numeric ids (what testpush hands out for a batch today) as ranges, any
// other id as itself, so remembering a million ids costs bytes, not tens
// of megabytes that would show in the RSS being measured.
type idSet struct {
	ranges []idRange
	other  []string
	n      int
}

type idRange struct {
	first uint64
	n     int
}

func (s *idSet) add(subs []testpush.Subscription) {
	for _, sub := range subs {
		s.n++
		v, err := strconv.ParseUint(sub.ID, 10, 64)
		if err != nil || strconv.FormatUint(v, 10) != sub.ID {
			s.other = append(s.other, sub.ID)
			continue
		}
		if k := len(s.ranges) - 1; k >= 0 && s.ranges[k].first+uint64(s.ranges[k].n) == v {
			s.ranges[k].n++
			continue
		}
		s.ranges = append(s.ranges, idRange{first: v, n: 1})
	}
}

// each calls f with every id.
func (s *idSet) each(f func(id string)) {
	for _, r := range s.ranges {
		for i := range r.n {
			f(strconv.FormatUint(r.first+uint64(i), 10))
		}
	}
	for _, id := range s.other {
		f(id)
	}
}

// len is how many ids the set holds.
func (s *idSet) len() int { return s.n }
