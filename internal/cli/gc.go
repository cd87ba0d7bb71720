package cli

import "runtime/debug"

// defaultGCPercent is the garbage collector's target (GOGC) that
// herald serve and herald bench run with when the environment sets none.
// Herald's live heap is small (tens of MB) and a big send allocates fast
// (~10 KB a push), so at Go's default of 100 the collector runs dozens of
// times a second. At 200 it runs half as often: measured on 100,000-push
// sends, 74–75 against 78–79 µs of CPU a push, for ~10 MB more RSS
// (docs/performance.md).
const defaultGCPercent = 200

// tuneGC sets the collector's target to defaultGCPercent unless GOGC is
// set, which the Go runtime has then applied already.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}
