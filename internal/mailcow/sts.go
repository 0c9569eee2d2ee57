package mailcow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrNoPolicy is wrapped when mailcow serves no MTA-STS policy for a domain
// (HTTP 404): mta-sts.php answers 404 when the domain has no entry, the entry
// is inactive or incomplete, or the Host is not mta-sts.<something>.
var ErrNoPolicy = errors.New("mailcow serves no MTA-STS policy for this domain")

// ErrSTSExists is returned by AddSTS when the domain already has an entry
// (an inactive one serves nothing, so it cannot be told from none).
var ErrSTSExists = errors.New("the domain already has an MTA-STS entry")

// maxPolicyBody is RFC 8461 §3.3's suggested limit for a policy file.
const maxPolicyBody = 64 << 10

// maxMailcowMaxAge is the largest max_age mailcow's "add mta_sts" accepts
// (31536000, a 365-day year); its "edit" accepts up to RFC 8461's 31557600,
// so the smaller bound is enforced for both to keep add and edit symmetric.
const maxMailcowMaxAge = 31536000

// STS is a domain's MTA-STS entry in mailcow (mailcow 2025-09 and later).
//
// mailcow's API has no route to read these entries back (there is no "get"
// case for them in json_api.php, and domain_details does not carry them): to
// verify what mailcow publishes, fetch it with ServedPolicy. mailcow derives
// the policy id itself (a timestamp, renewed whenever version, mode, mx or
// max_age change), so the id cannot be set through the API either.
type STS struct {
	Domain string
	Mode   string // enforce, testing or none
	MX     []string
	MaxAge int64 // seconds, 1..31536000
	Active bool
}

// stsAttr is the attribute set mailcow's add and edit handlers read.
type stsAttr struct {
	Version string `json:"version"`
	Mode    string `json:"mode"`
	MX      string `json:"mx"`
	MaxAge  int64  `json:"max_age"`
	Active  int    `json:"active"`
}

// attr validates s the way mailcow will, so a bad entry fails here with a
// clear message instead of as a terse language key from mailcow.
func (s STS) attr() (string, stsAttr, error) {
	domain, err := normalize(s.Domain)
	if err != nil {
		return "", stsAttr{}, fmt.Errorf("MTA-STS entry for %q: domain: %w", s.Domain, err)
	}
	switch s.Mode {
	case "enforce", "testing", "none":
	default:
		return "", stsAttr{}, fmt.Errorf("MTA-STS entry for %s: mode %q: must be enforce, testing or none", domain, s.Mode)
	}
	if s.MaxAge < 1 || s.MaxAge > maxMailcowMaxAge {
		return "", stsAttr{}, fmt.Errorf("MTA-STS entry for %s: max_age %d: mailcow accepts 1 to %d seconds", domain, s.MaxAge, maxMailcowMaxAge)
	}
	if len(s.MX) == 0 {
		return "", stsAttr{}, fmt.Errorf("MTA-STS entry for %s: no mx patterns: mailcow requires at least one, even for mode none", domain)
	}
	mx := make([]string, 0, len(s.MX))
	for _, m := range s.MX {
		pattern, err := normalizeMX(m)
		if err != nil {
			return "", stsAttr{}, fmt.Errorf("MTA-STS entry for %s: mx %q: %w", domain, m, err)
		}
		mx = append(mx, pattern)
	}
	active := 0
	if s.Active {
		active = 1
	}
	// mailcow lower-cases the version ("stsv1") on the way in and restores
	// "STSv1" when serving; the RFC spelling is sent.
	return domain, stsAttr{Version: "STSv1", Mode: s.Mode, MX: strings.Join(mx, ","), MaxAge: s.MaxAge, Active: active}, nil
}

// normalizeMX normalises an mx pattern, keeping a leading "*." wildcard.
func normalizeMX(m string) (string, error) {
	m = strings.TrimSpace(m)
	prefix := ""
	if strings.HasPrefix(m, "*.") {
		prefix, m = "*.", m[2:]
	}
	if strings.ContainsAny(m, ", \t*") {
		return "", errors.New("must be one host name or *.domain")
	}
	name, err := normalize(m)
	if err != nil {
		return "", err
	}
	return prefix + name, nil
}

// AddSTS creates a domain's MTA-STS entry: POST /api/v1/add/mta-sts with
// {domain, version, mode, mx:"a,b", max_age, active}. mailcow refuses a
// second entry for the same domain; use EditSTS then.
func (c *Client) AddSTS(ctx context.Context, s STS) error {
	domain, a, err := s.attr()
	if err != nil {
		return err
	}
	body := struct {
		Domain string `json:"domain"`
		stsAttr
	}{domain, a}
	if _, err := c.call(ctx, "POST", "/api/v1/add/mta-sts", nil, body); err != nil {
		if strings.Contains(err.Error(), "Duplicate entry") {
			return fmt.Errorf("%w: %w (domain %s: edit it instead)", ErrSTSExists, err, domain)
		}
		return fmt.Errorf("%w (adding the MTA-STS entry of %s; needs mailcow 2025-09 or later and a read-write API key)", err, domain)
	}
	return nil
}

// EditSTS changes a domain's MTA-STS entry: POST /api/v1/edit/mta-sts with
// {items:[domain], attr:{version, mode, mx, max_age, active}}, the shape of
// every mailcow edit route (json_api.php passes items and attr on).
func (c *Client) EditSTS(ctx context.Context, s STS) error {
	domain, a, err := s.attr()
	if err != nil {
		return err
	}
	body := struct {
		Items []string `json:"items"`
		Attr  stsAttr  `json:"attr"`
	}{[]string{domain}, a}
	if _, err := c.call(ctx, "POST", "/api/v1/edit/mta-sts", nil, body); err != nil {
		if strings.Contains(err.Error(), "access_denied") {
			return fmt.Errorf("%w (mailcow says access_denied when %s has no MTA-STS entry yet, or the API key may not edit it)", err, domain)
		}
		return fmt.Errorf("%w (editing the MTA-STS entry of %s)", err, domain)
	}
	return nil
}

// ServedPolicy fetches https://<policyHost>/.well-known/mta-sts.txt with
// Host: mta-sts.<domain> (mailcow's nginx answers every mta-sts.* name and
// mta-sts.php picks the policy by Host; an alias domain gets its target
// domain's policy) and returns the raw body of a 200 answer. Redirects are
// not followed (RFC 8461 §3.3) and the body is limited to 64 KiB. A 404 wraps
// ErrNoPolicy. The API key is not sent.
//
// policyHost is the mailcow host name, optionally with a port.
func (c *Client) ServedPolicy(ctx context.Context, policyHost, domain string) ([]byte, error) {
	d, err := normalize(domain)
	if err != nil {
		return nil, fmt.Errorf("MTA-STS policy of %q: %w", domain, err)
	}
	host := strings.TrimSpace(policyHost)
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		return nil, fmt.Errorf("MTA-STS policy of %s: policy host %q: give a host name (and optional port), e.g. mail.example.com", d, policyHost)
	}
	if h, _, err := net.SplitHostPort(host); err == nil && h == "" {
		return nil, fmt.Errorf("MTA-STS policy of %s: policy host %q has no host name", d, policyHost)
	}
	u := &url.URL{Scheme: "https", Host: host, Path: "/.well-known/mta-sts.txt"}
	where := fmt.Sprintf("MTA-STS policy of %s from %s (Host: mta-sts.%s)", d, u, d)
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	req.Host = "mta-sts." + d
	req.Header.Set("Accept", "text/plain")
	hc := *c.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: check the policy host name and that mailcow's HTTPS port is reachable", where, transportReason(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicyBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: HTTP %d, reading the body: %s", where, resp.StatusCode, transportReason(err))
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s: HTTP 404: %w (add an active MTA-STS entry for the domain, or its alias target, in mailcow)", where, ErrNoPolicy)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fmt.Errorf("%s: HTTP %d redirect to %q: senders must not follow redirects (RFC 8461 §3.3), so serve the policy directly", where, resp.StatusCode, resp.Header.Get("Location"))
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s: HTTP %d: %s: only 200 counts as a policy", where, resp.StatusCode, c.redact(describeBody(resp.Header.Get("Content-Type"), body)))
	case len(body) > maxPolicyBody:
		return nil, fmt.Errorf("%s: body larger than 64 KiB: senders may reject it (RFC 8461 §3.3)", where)
	}
	return body, nil
}
