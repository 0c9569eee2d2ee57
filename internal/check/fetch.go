package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// maxPolicyBytes is the body limit RFC 8461 §3.3 suggests senders apply.
const maxPolicyBytes = 64 << 10

// expiryWarning is how close to expiry a certificate gets before we warn:
// long enough for a failed automatic renewal to be noticed and fixed.
const expiryWarning = 14 * 24 * time.Hour

// Fetched is a policy file as a sending MTA received it.
type Fetched struct {
	Policy     mtasts.Policy
	Body       []byte
	Warnings   []string
	CertExpiry time.Time
}

// policyURL is where senders fetch the MTA-STS policy of domain (an A-label).
func policyURL(domain string) string {
	return "https://" + policyHost(domain) + "/.well-known/mta-sts.txt"
}

// policyHost is the host name that must serve the policy of domain and that its certificate must be valid for.
func policyHost(domain string) string {
	return "mta-sts." + domain
}

// FetchPolicy fetches and validates https://mta-sts.<domain>/.well-known/mta-sts.txt
// exactly as a sender does: SNI mta-sts.<domain>, a certificate valid for that
// name and chained to RootCAs, TLS >= 1.2, no redirects followed, status 200
// only, a body of at most 64 KiB, within Options.Timeout. Warnings cover a
// Content-Type other than text/plain, a certificate expiring within 14 days
// and the policy parser's warnings.
func (c *Checker) FetchPolicy(ctx context.Context, domain string) (Fetched, error) {
	d, err := dnsname.Normalize(domain)
	if err != nil {
		return Fetched{}, fmt.Errorf("domain %q: %w", domain, err)
	}
	f, err := c.fetch(ctx, d)
	if err != nil {
		return f, err
	}
	p, warnings, err := parsePolicy(f.Body)
	if err != nil {
		return f, fmt.Errorf("%s: %w: senders ignore this policy; fix the policy file", policyURL(d), err)
	}
	f.Policy = p
	for _, w := range warnings {
		f.Warnings = append(f.Warnings, "policy: "+w)
	}
	return f, nil
}

// parsePolicy parses and validates a policy body; Validate runs too so a
// policy the parser accepts but senders could not use is still reported.
func parsePolicy(body []byte) (mtasts.Policy, []string, error) {
	p, warnings, err := mtasts.ParsePolicy(body)
	if err != nil {
		return p, warnings, err
	}
	if err := p.Validate(); err != nil {
		return p, warnings, err
	}
	return p, warnings, nil
}

// fetch does the HTTPS part of FetchPolicy and leaves Policy empty.
func (c *Checker) fetch(ctx context.Context, domain string) (Fetched, error) {
	host := policyHost(domain)
	u := policyURL(domain)
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	tr := &http.Transport{
		// Mail servers often reach the web only through an egress proxy;
		// the TLS session still ends at mta-sts.<domain>, checked as above.
		// The proxy, if any, resolves the policy host itself.
		Proxy:       http.ProxyFromEnvironment,
		DialContext: c.policyDialer(host),
		TLSClientConfig: &tls.Config{
			ServerName: host,
			RootCAs:    c.opts.RootCAs,
			MinVersion: tls.VersionTLS12,
			Time:       c.opts.Now,
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A redirect is reported, never followed (RFC 8461 §3.3).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Fetched{}, fmt.Errorf("%s: %w", u, err)
	}
	req.Header.Set("User-Agent", "mtasts-sync-check")
	resp, err := client.Do(req)
	if err != nil {
		return Fetched{}, describeFetchError(u, host, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return Fetched{}, fmt.Errorf("%s: HTTP %s to %q: redirects must not be followed (RFC 8461 §3.3); serve the policy at this URL directly",
			u, resp.Status, resp.Header.Get("Location"))
	}
	if resp.StatusCode != http.StatusOK {
		return Fetched{}, fmt.Errorf("%s: HTTP %s: senders accept only 200 OK; serve the policy file at this path", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicyBytes+1))
	if err != nil {
		return Fetched{}, fmt.Errorf("%s: reading the body: %w", u, err)
	}
	if len(body) > maxPolicyBytes {
		return Fetched{}, fmt.Errorf("%s: body is larger than 64 KiB, the limit senders apply (RFC 8461 §3.3): serve only the policy file", u)
	}

	f := Fetched{Body: body}
	if ct := resp.Header.Get("Content-Type"); !isTextPlain(ct) {
		f.Warnings = append(f.Warnings, fmt.Sprintf("%s: Content-Type is %q, should be text/plain (RFC 8461 §3.2): fix the web server's MIME type", u, ct))
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		f.CertExpiry = resp.TLS.PeerCertificates[0].NotAfter
		if w := expiryNote(host, f.CertExpiry, c.opts.Now()); w != "" {
			f.Warnings = append(f.Warnings, w)
		}
	}
	return f, nil
}

// policyDialer connects the HTTP transport: the policy host through the
// Checker's resolver on Options.HTTPSPort (the URL and Host header stay
// those a sender uses), anything else (an egress proxy) the plain way.
func (c *Checker) policyDialer(host string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, _, err := net.SplitHostPort(addr)
		if err == nil && strings.EqualFold(h, host) {
			return c.dial(ctx, network, net.JoinHostPort(host, strconv.Itoa(c.opts.HTTPSPort)))
		}
		if c.opts.Dialer != nil {
			return c.opts.Dialer.DialContext(ctx, network, addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func isTextPlain(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "text/plain"
}

// expiryNote warns about a certificate that expires soon; an expired one
// already failed verification.
func expiryNote(name string, notAfter, now time.Time) string {
	left := notAfter.Sub(now)
	if left >= expiryWarning {
		return ""
	}
	return fmt.Sprintf("certificate for %s expires in %s (%s): renew it, senders reject an expired certificate",
		name, left.Round(time.Hour), notAfter.UTC().Format(time.RFC3339))
}

// describeFetchError turns an HTTP client error into one line that names the
// URL, what is wrong and what to do.
func describeFetchError(u, host string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if hint, cause := tlsProblem(host, err); hint != "" {
		return fmt.Errorf("%s: %w: %s", u, cause, hint)
	}
	var le *HostLookupError
	if errors.As(err, &le) {
		if le.Err != nil && !isNXDomain(le.Err) {
			// The lookup itself failed (no answer, SERVFAIL): the name may
			// well be right, so do not send the user off to create it.
			return fmt.Errorf("%s: %w: the lookup failed, which says nothing about the record; make sure the resolver and the zone's nameservers answer, then check again", u, le)
		}
		return fmt.Errorf("%s: %w: make %s a CNAME to the policy host (run apply)", u, le, host)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%s: %w: the policy host did not answer in time; senders give up too", u, err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("%s: cannot connect: %w: make %s resolve to a web server listening on port 443", u, err, host)
	}
	return fmt.Errorf("%s: %w", u, err)
}

// tlsProblem explains a TLS or certificate failure with name: the most
// specific cause (the x509 error rather than its "tls: failed to verify"
// wrapper) and what to do. The hint is "" if err is no such failure.
func tlsProblem(name string, err error) (hint string, cause error) {
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) && verr.Err != nil {
		err = verr.Err
	}
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &hostErr):
		return fmt.Sprintf("use a certificate whose names include %s", name), hostErr
	case errors.As(err, &authErr):
		return "self-signed and private-CA certificates are rejected; use one from a publicly trusted CA (e.g. Let's Encrypt)", authErr
	case errors.As(err, &invErr) && invErr.Reason == x509.Expired:
		return "the certificate has expired or is not yet valid; renew it", invErr
	case errors.As(err, &invErr):
		return "the certificate is not acceptable; replace it", invErr
	case errors.As(err, &recErr):
		return "the server does not speak TLS on this port", err
	case strings.Contains(err.Error(), "protocol version not supported"):
		// A received alert is an unexported type in crypto/tls, so only its text identifies it.
		return "enable TLS 1.2 or newer", err
	}
	return "", err
}
