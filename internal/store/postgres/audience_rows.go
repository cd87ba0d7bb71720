package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/heraldpush/herald/internal/store"
)

// Reading candidates. A chunk's rows are read from pgx's raw values on
// the pool's connection: through database/sql's Rows and Scan, reading a
// million members cost the client more CPU than the server spent finding
// them. Each row is (id, channel, time zone, carries an OR tag); a NULL
// channel marks a candidate that is no member (see chunkSQL).

// chunk runs query q and calls member with each candidate that is a
// member, in order, until member returns false; zones shares one string
// per time zone. It returns how many candidates it read, the last one's
// id and how many of them carried a tag of the tags OR list.
func (s *Store) chunk(ctx context.Context, q string, qargs args, zones map[string]string, member func(store.Recipient) bool) (read int, last int64, orHits int, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		rows, err := c.Conn().Query(ctx, q, qargs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		binID := false
		for rows.Next() {
			v := rows.RawValues()
			if read == 0 {
				fd := rows.FieldDescriptions()
				if len(fd) != 4 {
					return fmt.Errorf("want 4 columns, got %d", len(fd))
				}
				binID = fd[0].Format == pgx.BinaryFormatCode
			}
			if len(v) != 4 {
				return fmt.Errorf("want 4 values, got %d", len(v))
			}
			read++
			if last, err = parseID(v[0], binID); err != nil {
				return err
			}
			// A bool is one byte, 1 or 't' for true in either format.
			if len(v[3]) == 1 && (v[3][0] == 1 || v[3][0] == 't') {
				orHits++
			}
			if v[1] == nil {
				continue // no member
			}
			if !member(store.Recipient{ID: last, Channel: channelOfBytes(v[1]), Timezone: zoneOf(zones, v[2])}) {
				return nil
			}
		}
		return rows.Err()
	})
	return read, last, orHits, err
}

// parseID decodes an int8 column in either format.
func parseID(v []byte, bin bool) (int64, error) {
	if bin {
		if len(v) != 8 {
			return 0, fmt.Errorf("subscriber id of %d bytes", len(v))
		}
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	id, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("subscriber id %q: %w", v, err)
	}
	return id, nil
}

// channelOfBytes is channelOf without allocating for a known channel.
func channelOfBytes(ch []byte) store.Channel {
	for _, c := range []store.Channel{store.ChannelWebPush, store.ChannelFCM, store.ChannelAPNs} {
		if string(c) == string(ch) {
			return c
		}
	}
	return store.Channel(ch)
}

// zoneOf returns tz from zones, adding it when new, so that a page shares
// one string per time zone.
func zoneOf(zones map[string]string, tz []byte) string {
	if z, ok := zones[string(tz)]; ok {
		return z
	}
	z := string(tz)
	zones[z] = z
	return z
}
