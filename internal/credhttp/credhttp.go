// Package credhttp is the redirect policy of every HTTP client that carries
// a credential (an API key or token in a request header): a redirect is
// followed only to the same scheme, host and port, and only when it repeats
// the same request (the same method); any other redirect is refused with a
// *RedirectError naming the status and the Location, so the credential is
// never sent to another server and the other server's answer is never used.
//
// Go's client keeps custom headers such as X-API-Key on every redirect, and
// Authorization on a redirect to another port or scheme of the same host:
// the policy closes both.
package credhttp

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects bounds a chain of same-origin redirects, as Go's default does.
const maxRedirects = 10

// RedirectError is a redirect the policy refused.
type RedirectError struct {
	// Status is the redirect's HTTP status, e.g. 302.
	Status int
	// From is the URL that answered with the redirect; Location is where
	// it pointed (resolved against From). Both are given without userinfo.
	From, Location string
	// Reason says why the redirect is refused.
	Reason string
}

func (e *RedirectError) Error() string {
	status := fmt.Sprintf("HTTP %d", e.Status)
	if t := http.StatusText(e.Status); t != "" {
		status += " " + t
	}
	return fmt.Sprintf("%s redirects to %s: not followed (%s)", status, e.Location, e.Reason)
}

// CheckRedirect implements the policy as an http.Client.CheckRedirect.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	prev, first := via[len(via)-1], via[0]
	refuse := func(reason string) error {
		e := &RedirectError{From: redact(prev.URL), Location: redact(req.URL), Reason: reason}
		if req.Response != nil {
			e.Status = req.Response.StatusCode
		}
		return e
	}
	switch {
	case origin(req.URL) != origin(first.URL):
		return refuse("another scheme, host or port")
	case req.Method != first.Method:
		return refuse(fmt.Sprintf("it would turn the %s into a %s", first.Method, req.Method))
	case len(via) >= maxRedirects:
		return refuse(fmt.Sprintf("%d redirects in a row", len(via)))
	}
	return nil
}

// Client returns a copy of hc (a new client when nil) that keeps the policy;
// hc itself is left as it is.
func Client(hc *http.Client) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	c.CheckRedirect = CheckRedirect
	return c
}

// origin is scheme://host:port, lower-case, with the scheme's default port
// made explicit so that https://h and https://h:443 are one origin.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// redact drops userinfo from a URL for an error message.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
