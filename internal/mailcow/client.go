// Package mailcow talks to a mailcow-dockerized server: it lists the mail
// domains and alias domains through mailcow's JSON API, writes mailcow's own
// MTA-STS settings (mailcow 2025-09 and later), fetches the policy mailcow
// serves, and reads mailcow.conf.
//
// The wire shapes were read from mailcow-dockerized's source:
// data/web/json_api.php (routes, the "tags" query, "{}" for an empty result),
// data/web/inc/functions.mailbox.inc.php (the fields of "domain_details",
// "alias_domain_details" and the "mta_sts" add/edit/get cases) and
// data/web/mta-sts.php (how the policy is served).
package mailcow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/credhttp"
)

// ErrUnauthorized is wrapped by every error caused by mailcow rejecting the
// API key (HTTP 401 or 403).
var ErrUnauthorized = errors.New("API key wrong or not allowed from this IP: see mailcow's API settings (System > Configuration > Access > API)")

// defaultTimeout bounds a whole request when the caller brings no client.
const defaultTimeout = 30 * time.Second

// maxAPIBody caps what is read from an API answer; a domain list of several
// thousand domains stays far below it.
const maxAPIBody = 32 << 20

// Options configure a Client.
type Options struct {
	// URL is the base URL of the mailcow UI, e.g. https://mail.example.com.
	URL string
	// APIKey is sent as X-API-Key. It never appears in errors or logs.
	APIKey string
	// HTTPClient is built by the caller (CA file, proxy). Nil means a client
	// with a 30 s timeout. Either way the client never follows a redirect
	// to another scheme, host or port (see package credhttp): the API key
	// goes only to mailcow.
	HTTPClient *http.Client
}

// Client is a mailcow API client. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	apiKey string
	http   *http.Client
}

// New validates opts and returns a Client.
func New(opts Options) (*Client, error) {
	raw := strings.TrimSpace(opts.URL)
	if raw == "" {
		return nil, errors.New("mailcow URL is empty: set it to the address of the mailcow UI, e.g. https://mail.example.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mailcow URL %q: %w", raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("mailcow URL %q: scheme must be https (or http), e.g. https://mail.example.com", u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("mailcow URL %q: no host name, e.g. https://mail.example.com", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mailcow URL %q: must not carry a query or fragment; give only the base address", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("mailcow URL %q: must not carry credentials; the API key goes in the api_key setting", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if strings.TrimSpace(opts.APIKey) == "" {
		return nil, fmt.Errorf("mailcow %s: API key is empty: create one under System > Configuration > Access > API", u.Redacted())
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{base: u, apiKey: opts.APIKey, http: credhttp.Client(hc)}, nil
}

// endpoint is the full URL of an API path such as "/api/v1/get/domain/all".
func (c *Client) endpoint(path string, query url.Values) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	return &u
}

// redact guards text that came from the server, in case a misconfigured
// proxy or mailcow itself echoes request headers back: text holding the API
// key is left out whole. Nothing is cut out of it: a key that happens to be
// a common word must not mangle the rest (our own errors never hold the
// key, which travels only in a header, and are shown as they are).
func (c *Client) redact(s string) string {
	if c.apiKey == "" || !strings.Contains(s, c.apiKey) {
		return s
	}
	return "(not shown: the answer repeats the API key)"
}

// call performs one API request and returns the body of a 2xx JSON answer.
// Every error names the URL (never the key) and says what to check.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, payload any) ([]byte, error) {
	u := c.endpoint(path, query)
	where := "mailcow " + method + " " + u.Redacted()
	var body io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("%s: encode request: %w", where, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	req.Header.Set("X-API-Key", c.apiKey)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	var redirect *credhttp.RedirectError
	if errors.As(err, &redirect) {
		return nil, fmt.Errorf("%s: %s: the API key goes to this address only; set mailcow url to the address mailcow's API answers at itself", where, c.redact(redirect.Error()))
	}
	if err != nil {
		// *url.Error repeats the URL, which holds no secret; the key is a header.
		return nil, fmt.Errorf("%s: %s: check that the URL is right and mailcow is reachable from here", where, transportReason(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: HTTP %d, reading the answer: %s", where, resp.StatusCode, transportReason(err))
	}
	if len(data) > maxAPIBody {
		return nil, fmt.Errorf("%s: answer larger than %d MiB: is this mailcow?", where, maxAPIBody>>20)
	}
	ct := resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		detail := ""
		if msg, ok := apiErrorMessage(data); ok {
			detail = fmt.Sprintf(" (mailcow says %q)", c.redact(msg))
		}
		return nil, fmt.Errorf("%s: HTTP %d%s: %w", where, resp.StatusCode, detail, ErrUnauthorized)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, fmt.Errorf("%s: HTTP %d: %s", where, resp.StatusCode, c.redact(describeBody(ct, data)))
	case looksHTML(ct, data):
		return nil, fmt.Errorf("%s: HTTP %d but %s instead of JSON: check that the URL points at mailcow itself and that /api is not behind a login or proxy page", where, resp.StatusCode, c.redact(describeBody(ct, data)))
	}
	if msg, ok := apiErrorMessage(data); ok {
		return nil, fmt.Errorf("%s: mailcow answered with an error: %s", where, c.redact(msg))
	}
	return data, nil
}

// transportReason shortens a client error to its cause; the caller already
// names the URL.
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out (" + err.Error() + ")"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return err.Error()
}

// looksHTML reports whether an answer is an HTML page (a login page, a proxy
// error page) rather than the JSON the API promises.
func looksHTML(contentType string, data []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	t := bytes.TrimSpace(data)
	return len(t) > 0 && t[0] == '<'
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// describeBody says in a few words what an unexpected answer was.
func describeBody(contentType string, data []byte) string {
	if msg, ok := apiErrorMessage(data); ok {
		return fmt.Sprintf("mailcow says %q", msg)
	}
	if looksHTML(contentType, data) {
		if m := titleRE.FindSubmatch(data); m != nil {
			return fmt.Sprintf("an HTML page titled %q", clip(strings.Join(strings.Fields(string(m[1])), " "), 80))
		}
		return "an HTML page"
	}
	t := strings.TrimSpace(string(data))
	if t == "" {
		return "an empty answer"
	}
	return fmt.Sprintf("unexpected answer %q", clip(t, 120))
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
