package egress

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// KnownPushServices are the host suffixes of the browsers' push services
// that Herald posts to by default. A suffix starting with "." matches any
// subdomain; otherwise the host must match exactly.
var knownPushServices = []string{
	".push.services.mozilla.com", // Firefox (updates.push.services.mozilla.com)
	"fcm.googleapis.com",         // Chrome, Edge on Android, Opera, Brave
	"android.googleapis.com",     // older Chrome subscriptions
	".push.apple.com",            // Safari (web.push.apple.com)
	".notify.windows.com",        // Edge on Windows (wns2-*.notify.windows.com)
}

// KnownPushServices returns the default host list, for documentation and
// `herald config`.
func KnownPushServices() []string {
	return append([]string(nil), knownPushServices...)
}

// Policy is an outbound allow-list.
type Policy struct {
	extra []string // lower-case host or host:port entries the operator added
}

// New returns a Policy allowing the known push services plus extra hosts.
// Each extra entry is a host name or IP, optionally with ":port", optionally
// written as a URL ("http://127.0.0.1:9000").
func New(extra []string) (Policy, error) {
	var p Policy
	for _, e := range extra {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "://") {
			u, err := url.Parse(e)
			if err != nil || u.Host == "" {
				return Policy{}, fmt.Errorf("egress: allow-endpoint %q: not a host or URL", e)
			}
			e = u.Host
		}
		if strings.ContainsAny(e, "/?#@ ") {
			return Policy{}, fmt.Errorf("egress: allow-endpoint %q: not a host", e)
		}
		p.extra = append(p.extra, strings.ToLower(e))
	}
	return p, nil
}

// Extra returns the operator's added hosts.
func (p Policy) Extra() []string { return append([]string(nil), p.extra...) }

// Check returns nil when Herald may post to rawURL, or an error saying why
// not, worded to follow a field name ("endpoint: ...").
func (p Policy) Check(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry user info")
	}
	host := strings.ToLower(u.Hostname())
	hostport := strings.ToLower(u.Host)
	if p.widened(host, hostport) {
		if u.Scheme != "https" && u.Scheme != "http" {
			return fmt.Errorf("scheme %q is not http or https", u.Scheme)
		}
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("must be an https URL")
	}
	if u.Port() != "" && u.Port() != "443" {
		return fmt.Errorf("host %s is not a known push service (port %s)", host, u.Port())
	}
	for _, s := range knownPushServices {
		if host == s || (strings.HasPrefix(s, ".") && strings.HasSuffix(host, s)) {
			return nil
		}
	}
	return fmt.Errorf("host %s is not a known push service; the operator can allow it with --allow-endpoint", host)
}

func (p Policy) widened(host, hostport string) bool {
	for _, e := range p.extra {
		if _, _, err := net.SplitHostPort(e); err == nil {
			if e == hostport {
				return true
			}
			continue
		}
		if strings.Trim(e, "[]") == host {
			return true
		}
	}
	return false
}
