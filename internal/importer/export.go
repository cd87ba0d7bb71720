package importer

import (
	"context"
	"fmt"
	"io"

	"github.com/heraldpush/herald/internal/store"
)

// rowWriter writes subscribers in one export format.
type rowWriter interface {
	write(s store.Subscriber) error
	flush() error
}

// Export writes every subscriber of appID to w in format f (csv or jsonl),
// in id order, a page at a time, and returns how many it wrote. What it
// writes imports back as a no-op. The CSV's fixed columns carry no time
// zone; JSON lines carry it.
func Export(ctx context.Context, st Lister, appID string, w io.Writer, f Format) (int64, error) {
	var (
		rw  rowWriter
		err error
	)
	switch f {
	case FormatCSV, "":
		rw, err = newCSVWriter(w)
	case FormatJSONL:
		rw = newJSONLWriter(w)
	default:
		err = fmt.Errorf("format %q: want one of %v", f, exportFormats)
	}
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	var n, after int64
	for {
		page, err := st.ListSubscribers(ctx, appID, store.SubscriberFilter{AfterID: after, Limit: pageSize})
		if err != nil {
			return n, fmt.Errorf("export %s: %w", appID, err)
		}
		for _, s := range page {
			if err := rw.write(s); err != nil {
				return n, fmt.Errorf("export %s: write: %w", appID, err)
			}
			n++
		}
		if len(page) < pageSize {
			break
		}
		after = page[len(page)-1].ID
	}
	if err := rw.flush(); err != nil {
		return n, fmt.Errorf("export %s: write: %w", appID, err)
	}
	return n, nil
}
