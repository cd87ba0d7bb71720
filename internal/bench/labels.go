package bench

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"
)

// cpuByLabel sums a CPU profile's samples by the value of one label key
// ("" for samples without it), so a run can say how much CPU Herald
// itself used, apart from testpush in the same process. It reads the
// pprof format (gzipped profile.proto) directly: only Profile.sample
// (values and labels) and Profile.string_table are needed, and the
// module has no protobuf dependency to do it for us.
func cpuByLabel(profile []byte, key string) (map[string]time.Duration, error) {
	zr, err := gzip.NewReader(bytes.NewReader(profile))
	if err != nil {
		return nil, fmt.Errorf("bench: profile: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("bench: profile: %w", err)
	}
	type sample struct {
		ns     int64
		labels map[int64]int64 // key string index → value string index
	}
	var samples []sample
	var strs []string
	err = eachField(raw, func(num int, v uint64, b []byte) error {
		switch num {
		case 2: // Profile.sample
			s := sample{labels: map[int64]int64{}}
			var values []int64
			err := eachField(b, func(num int, v uint64, b []byte) error {
				switch {
				case num == 2 && b == nil: // Sample.value, unpacked
					values = append(values, int64(v))
				case num == 2: // Sample.value, packed
					for len(b) > 0 {
						x, n := uvarint(b)
						if n <= 0 {
							return errors.New("bad packed value")
						}
						values, b = append(values, int64(x)), b[n:]
					}
				case num == 3: // Sample.label
					var k, str int64
					if err := eachField(b, func(num int, v uint64, _ []byte) error {
						switch num {
						case 1:
							k = int64(v)
						case 2:
							str = int64(v)
						}
						return nil
					}); err != nil {
						return err
					}
					s.labels[k] = str
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(values) > 0 {
				s.ns = values[len(values)-1] // CPU profiles: [samples/count, cpu/nanoseconds]
			}
			samples = append(samples, s)
		case 6: // Profile.string_table
			strs = append(strs, string(b))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bench: profile: %w", err)
	}
	keyIdx := int64(-1)
	for i, s := range strs {
		if s == key {
			keyIdx = int64(i)
		}
	}
	out := map[string]time.Duration{}
	for _, s := range samples {
		val := ""
		if i, ok := s.labels[keyIdx]; ok && i >= 0 && i < int64(len(strs)) {
			val = strs[i]
		}
		out[val] += time.Duration(s.ns)
	}
	return out, nil
}

// eachField calls f for each field of a protobuf message: v for varint
// and fixed fields, b (non-nil) for length-delimited ones.
func eachField(m []byte, f func(num int, v uint64, b []byte) error) error {
	for len(m) > 0 {
		tag, n := uvarint(m)
		if n <= 0 {
			return errors.New("bad tag")
		}
		m = m[n:]
		num, typ := int(tag>>3), tag&7
		var v uint64
		var b []byte
		switch typ {
		case 0:
			if v, n = uvarint(m); n <= 0 {
				return errors.New("bad varint")
			}
			m = m[n:]
		case 1:
			if len(m) < 8 {
				return errors.New("short fixed64")
			}
			m = m[8:]
		case 2:
			l, n := uvarint(m)
			if n <= 0 || uint64(len(m)-n) < l {
				return errors.New("bad length")
			}
			b, m = m[n:n+int(l)], m[n+int(l):]
			if b == nil {
				b = []byte{}
			}
		case 5:
			if len(m) < 4 {
				return errors.New("short fixed32")
			}
			m = m[4:]
		default:
			return fmt.Errorf("wire type %d", typ)
		}
		if err := f(num, v, b); err != nil {
			return err
		}
	}
	return nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		x |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}
