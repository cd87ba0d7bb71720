package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/registry"
)

// Format names a file format.
type Format string

// The formats. FormatAuto is only for import: it tells the format from the
// file's first line.
const (
	FormatAuto      Format = "auto"
	FormatCSV       Format = "csv"
	FormatJSONL     Format = "jsonl"
	FormatAzure     Format = "azure"
	FormatOneSignal Format = "onesignal"
)

// The formats each direction accepts, for flag checks and errors.
var (
	importFormats = []Format{FormatAuto, FormatCSV, FormatJSONL, FormatAzure, FormatOneSignal}
	exportFormats = []Format{FormatCSV, FormatJSONL}
)

// ParseImportFormat checks a --format value for import; "" means auto.
func ParseImportFormat(s string) (Format, error) {
	if s == "" {
		return FormatAuto, nil
	}
	for _, f := range importFormats {
		if Format(strings.ToLower(s)) == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("format %q: want one of %v", s, importFormats)
}

// ParseExportFormat checks a --format value for export; "" means csv.
func ParseExportFormat(s string) (Format, error) {
	if s == "" {
		return FormatCSV, nil
	}
	for _, f := range exportFormats {
		if Format(strings.ToLower(s)) == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("format %q: want one of %v", s, exportFormats)
}

// record is one row of the file as read, before it is understood.
type record struct {
	line   int      // line where the row starts, from 1
	fields []string // CSV formats
	text   []byte   // line formats
	bad    string   // set when the row could not even be read
}

// entry is a row understood: the registration it asks for, and what else
// the format carried.
type entry struct {
	reg        registry.Registration
	createdAt  time.Time // zero: now
	lastActive time.Time // zero: now
	skip       string    // non-empty: not a push subscription to import, and why
}

// source yields a file's rows in order. next is called from one goroutine;
// parse may be called from many at once and must only read the source.
type source interface {
	// next returns the next row, io.EOF after the last. Other errors are
	// fatal (a failed read); a row that is malformed comes back as a
	// record with bad set.
	next() (record, error)
	// parse turns a row into an entry; an error is the row's reason to be
	// bad.
	parse(rec record) (entry, error)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// open reads the head of br to detect the format when f is FormatAuto,
// then returns the source for it.
func open(br *bufio.Reader, f Format) (source, Format, error) {
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3) // a BOM is not part of the first header name
	}
	if f == FormatAuto {
		var err error
		if f, err = detect(br); err != nil {
			return nil, "", err
		}
	}
	var (
		src source
		err error
	)
	switch f {
	case FormatCSV:
		src, err = newHeraldCSV(br)
	case FormatJSONL:
		src = &jsonlSource{lines: newLineReader(br)}
	case FormatAzure:
		src = &azureSource{lines: newLineReader(br)}
	case FormatOneSignal:
		src, err = newOneSignal(br)
	default:
		err = fmt.Errorf("format %q: want one of %v", f, importFormats)
	}
	return src, f, err
}

// detect tells the format from the first non-blank line: a JSON object is
// jsonl, an XML element is azure, and a CSV header is Herald's when it
// names token and platform, OneSignal's when it names identifier and
// device_type.
func detect(br *bufio.Reader) (Format, error) {
	head, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("read: %w", err)
	}
	var first []byte
	for rest := head; len(rest) > 0; {
		line, tail, _ := bytes.Cut(rest, []byte("\n"))
		rest = tail
		if t := bytes.TrimSpace(line); len(t) > 0 {
			first = t
			break
		}
	}
	switch {
	case len(first) == 0:
		return "", errors.New("the file is empty; nothing to import")
	case first[0] == '{':
		return FormatJSONL, nil
	case first[0] == '<':
		return FormatAzure, nil
	}
	names, err := csv.NewReader(bytes.NewReader(first)).Read()
	if err == nil {
		cols := columns(names)
		if _, ok := cols["token"]; ok {
			if _, ok := cols["platform"]; ok {
				return FormatCSV, nil
			}
		}
		if _, ok := cols["identifier"]; ok {
			if _, ok := cols["device_type"]; ok {
				return FormatOneSignal, nil
			}
		}
	}
	return "", fmt.Errorf("cannot tell the format from the first line %.80q: name it with --format (csv, jsonl, azure or onesignal)", first)
}

// columns maps lower-cased header names to their index.
func columns(header []string) map[string]int {
	m := make(map[string]int, len(header))
	for i, h := range header {
		m[strings.ToLower(strings.TrimSpace(h))] = i
	}
	return m
}

// maxLine bounds one line of a line format; a longer line is a bad row.
const maxLine = 1 << 20

// lineReader reads lines of any length up to maxLine and counts them.
type lineReader struct {
	br   *bufio.Reader
	line int
}

func newLineReader(br *bufio.Reader) *lineReader { return &lineReader{br: br} }

// next returns the next non-blank line (without its end of line) and its
// number, io.EOF at the end.
func (l *lineReader) next() (record, error) {
	for {
		b, err := l.br.ReadSlice('\n')
		if len(b) == 0 && err == io.EOF {
			return record{}, io.EOF
		}
		l.line++
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it, up to maxLine.
			buf := append([]byte(nil), b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = l.br.ReadSlice('\n')
				if len(buf) <= maxLine {
					buf = append(buf, b...)
				}
			}
			if err != nil && err != io.EOF {
				return record{}, fmt.Errorf("read line %d: %w", l.line, err)
			}
			if len(buf) > maxLine {
				return record{line: l.line, bad: fmt.Sprintf("line is longer than %d bytes", maxLine)}, nil
			}
			b = buf
		} else if err != nil && err != io.EOF {
			return record{}, fmt.Errorf("read line %d: %w", l.line, err)
		}
		t := bytes.TrimSpace(b)
		if len(t) == 0 {
			continue
		}
		return record{line: l.line, text: bytes.Clone(t)}, nil
	}
}

// csvReader reads CSV rows and turns malformed ones into bad records.
type csvReader struct {
	r      *csv.Reader
	header int // number of columns
}

func newCSVReader(br *bufio.Reader) (*csvReader, []string, error) {
	r := csv.NewReader(br)
	r.ReuseRecord = false // rows travel to other goroutines
	header, err := r.Read()
	if err == io.EOF {
		return nil, nil, errors.New("the file is empty; nothing to import")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read CSV header: %w", err)
	}
	return &csvReader{r: r, header: len(header)}, header, nil
}

func (c *csvReader) next() (record, error) {
	fields, err := c.r.Read()
	if err == io.EOF {
		return record{}, io.EOF
	}
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		return record{line: pe.StartLine, bad: fmt.Sprintf("has %d fields, the header has %d", len(fields), c.header)}, nil
	case errors.As(err, &pe):
		return record{line: pe.StartLine, bad: "malformed CSV: " + pe.Err.Error()}, nil
	case err != nil:
		return record{}, fmt.Errorf("read CSV: %w", err)
	}
	line, _ := c.r.FieldPos(0)
	return record{line: line, fields: fields}, nil
}
