package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/config"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// sendFlags are herald send's flags that build a /v1/messages body.
type sendFlags struct {
	all                             bool
	tags, tagsAnd, tagsNot, aliases stringList
	ids, segments                   stringList
	title, body, url, icon, image   string
	ttl                             time.Duration
	urgency, sendAt, dedupID, reqID string
	localTime                       string
	spread                          int
}

// runSend is herald send: it posts a message to a running server's
// /v1/messages with the app's API key, prints the message id and, with
// --wait, shows the delivery's progress until the message is done.
func runSend(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("herald send", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: herald send --api-key KEY [--server URL] (--all | --tag T … | --alias A … | --registration-id R … | --segment S …) --title T [--body B] [flags]
       herald send --api-key KEY [--server URL] --file MESSAGE.json|-

Sends one message through a running herald serve (POST /v1/messages).
--file takes the whole request body as documented in docs/api.md; the
other target and content flags cannot be combined with it.`)
		fs.PrintDefaults()
	}
	var f sendFlags
	server := fs.String("server", "", "base URL of herald serve (env HERALD_SERVER; default http://"+config.DefaultAddr+")")
	apiKey := fs.String("api-key", "", "the app's API key (env HERALD_API_KEY)")
	file := fs.String("file", "", "read the whole /v1/messages request body from this JSON file (- for stdin)")
	wait := fs.Bool("wait", false, "show progress until the message is done, then print its counters")
	asJSON := fs.Bool("json", false, "print the server's answers as JSON")
	fs.BoolVar(&f.all, "all", false, "send to every active subscriber")
	fs.Var(&f.tags, "tag", "send to subscribers with this tag (repeatable: any of them)")
	fs.Var(&f.tagsAnd, "tag-and", "…who also have this tag (repeatable: all of them)")
	fs.Var(&f.tagsNot, "tag-not", "…who do not have this tag (repeatable)")
	fs.Var(&f.aliases, "alias", "send to this alias's devices (repeatable)")
	fs.Var(&f.ids, "registration-id", "send to this registration id (repeatable)")
	fs.Var(&f.segments, "segment", "send to this saved segment (repeatable)")
	fs.StringVar(&f.title, "title", "", "notification title")
	fs.StringVar(&f.body, "body", "", "notification body")
	fs.StringVar(&f.url, "url", "", "page opened on click")
	fs.StringVar(&f.icon, "icon", "", "icon URL")
	fs.StringVar(&f.image, "image", "", "image URL")
	fs.DurationVar(&f.ttl, "ttl", 0, "how long push services keep it for an offline device (e.g. 1h; 0 for the server's default)")
	fs.StringVar(&f.urgency, "urgency", "", "very-low, low, normal or high")
	fs.StringVar(&f.sendAt, "send-at", "", "schedule for this time (RFC 3339, e.g. 2026-12-01T09:00:00Z)")
	fs.IntVar(&f.spread, "spread-minutes", 0, "spread the sends evenly over this many minutes")
	fs.StringVar(&f.localTime, "local-time", "", "deliver at this time of day (HH:MM) in each subscriber's time zone, within a day")
	fs.StringVar(&f.dedupID, "dedup-id", "", "a repeat with the same id sends nothing and answers the first message's id")
	fs.StringVar(&f.reqID, "request-id", "", "your id for this send, echoed in answers and callbacks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("send: unexpected argument %q", fs.Arg(0))}
	}
	if *server == "" {
		*server = env.Getenv("HERALD_SERVER")
	}
	if *server == "" {
		*server = "http://" + config.DefaultAddr
	}
	if *apiKey == "" {
		*apiKey = env.Getenv("HERALD_API_KEY")
	}
	if *apiKey == "" {
		return usageError{"send: --api-key (or HERALD_API_KEY) is required"}
	}
	var body []byte
	if *file != "" {
		if fs.NFlag() > countSet(fs, "server", "api-key", "file", "wait", "json") {
			return usageError{"send: --file carries the whole message; drop the target and content flags"}
		}
		b, err := readBody(*file)
		if err != nil {
			return err
		}
		body = b
	} else {
		m, err := f.message()
		if err != nil {
			return err
		}
		body, _ = json.Marshal(m)
	}

	c := &client{base: strings.TrimRight(*server, "/"), key: *apiKey, http: &http.Client{Timeout: 30 * time.Second}}
	var accepted struct {
		ID string `json:"id"`
	}
	raw, err := c.call(ctx, http.MethodPost, "/v1/messages", body, &accepted)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if !*wait {
		if *asJSON {
			env.Stdout.Write(append(raw, '\n'))
		} else {
			fmt.Fprintln(env.Stdout, accepted.ID)
		}
		return nil
	}
	final, err := waitMessage(ctx, c, accepted.ID, env.Stderr, isTerminal(env.Stderr), time.Second)
	if err != nil {
		return fmt.Errorf("send: message %s: %w", accepted.ID, err)
	}
	if *asJSON {
		env.Stdout.Write(append(final, '\n'))
		return nil
	}
	var m progressView
	json.Unmarshal(final, &m)
	fmt.Fprintf(env.Stdout, "message %s %s: %d targeted, %d sent, %d failed, %d pruned, %d expired\n",
		m.ID, m.State, m.Targeted, m.Sent, m.Failed, m.Pruned, m.Expired)
	return nil
}

// countSet counts how many of the named flags were set.
func countSet(fs *flag.FlagSet, names ...string) int {
	n := 0
	fs.Visit(func(f *flag.Flag) {
		for _, name := range names {
			if f.Name == name {
				n++
			}
		}
	})
	return n
}

func readBody(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("send: read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	return b, nil
}

// message builds the /v1/messages body from the flags; the server checks
// the rest and names any bad field.
func (f *sendFlags) message() (map[string]any, error) {
	m := map[string]any{}
	to := map[string]any{}
	for name, l := range map[string]stringList{"tags": f.tags, "tags_and": f.tagsAnd, "tags_not": f.tagsNot,
		"aliases": f.aliases, "registration_ids": f.ids, "segments": f.segments} {
		if len(l) > 0 {
			to[name] = []string(l)
		}
	}
	switch {
	case f.all && len(to) > 0:
		return nil, usageError{"send: --all cannot be combined with other targets"}
	case f.all:
		m["to"] = "all"
	case len(to) == 0:
		return nil, usageError{"send: say who gets it: --all, --tag, --alias, --registration-id or --segment"}
	default:
		m["to"] = to
	}
	content := map[string]any{}
	for name, v := range map[string]string{"title": f.title, "body": f.body, "url": f.url, "icon": f.icon, "image": f.image} {
		if v != "" {
			content[name] = v
		}
	}
	if len(content) == 0 {
		return nil, usageError{"send: a message needs at least --title or --body"}
	}
	m["content"] = content
	if f.ttl < 0 {
		return nil, usageError{"send: --ttl must not be negative"}
	}
	if f.ttl > 0 {
		m["ttl"] = int64(f.ttl / time.Second)
	}
	for name, v := range map[string]string{"urgency": f.urgency, "send_at": f.sendAt, "local_time": f.localTime, "dedup_id": f.dedupID, "request_id": f.reqID} {
		if v != "" {
			m[name] = v
		}
	}
	if f.spread != 0 {
		m["spread_minutes"] = f.spread
	}
	return m, nil
}

// client calls one app's /v1 API.
type client struct {
	base, key string
	http      *http.Client
}

// call sends body (nil for none) and decodes a 2xx answer into out. Other
// answers become an error carrying the server's code and message.
func (c *client) call(ctx context.Context, method, path string, body []byte, out any) ([]byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var p struct{ Code, Message string }
		if json.Unmarshal(raw, &p) == nil && p.Code != "" {
			return nil, fmt.Errorf("server answered %d %s: %s", resp.StatusCode, p.Code, p.Message)
		}
		return nil, fmt.Errorf("server answered %s: %.200s", resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s %s: answer is not JSON: %w", method, path, err)
		}
	}
	return raw, nil
}

// progressView is what herald send --wait reads of GET /v1/messages/{id}.
type progressView struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	SendAt   string `json:"send_at"`
	Targeted int64  `json:"targeted"`
	Sent     int64  `json:"sent"`
	Failed   int64  `json:"failed"`
	Pruned   int64  `json:"pruned"`
	Expired  int64  `json:"expired"`
}

// finished says whether the message will change no more.
func (p progressView) finished() bool { return p.State == "done" || p.State == "canceled" }

// line is "sending: 41% 4,100 of 10,000 (4,050 sent, 30 failed, 20 pruned, 0 expired), 2,050/s".
func (p progressView) line(elapsed time.Duration) string {
	done := p.Sent + p.Failed + p.Pruned + p.Expired
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", p.State)
	if p.State == "scheduled" {
		fmt.Fprintf(&b, "waiting for %s", p.SendAt)
		return b.String()
	}
	if p.Targeted > 0 {
		fmt.Fprintf(&b, "%d%% ", min(100, done*100/p.Targeted))
	}
	fmt.Fprintf(&b, "%d of %d (%d sent, %d failed, %d pruned, %d expired)", done, p.Targeted, p.Sent, p.Failed, p.Pruned, p.Expired)
	if s := elapsed.Seconds(); s > 0 && done > 0 {
		fmt.Fprintf(&b, ", %.0f/s", float64(done)/s)
	}
	return b.String()
}

// waitMessage polls the message every interval, drawing its progress on w
// (one redrawn line on a terminal, a line per change elsewhere), until it
// is done or canceled, and returns its last answer.
func waitMessage(ctx context.Context, c *client, id string, w io.Writer, tty bool, interval time.Duration) ([]byte, error) {
	start := time.Now()
	last := ""
	for {
		var p progressView
		raw, err := c.call(ctx, http.MethodGet, "/v1/messages/"+id, nil, &p)
		if err != nil {
			return nil, err
		}
		if line := p.line(time.Since(start)); line != last {
			if tty {
				fmt.Fprint(w, "\r\x1b[K"+line)
			} else {
				fmt.Fprintln(w, line)
			}
			last = line
		}
		if p.finished() {
			if tty {
				fmt.Fprintln(w)
			}
			return raw, nil
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(errors.New("stopped waiting; the message goes on"), ctx.Err())
		case <-time.After(interval):
		}
	}
}
