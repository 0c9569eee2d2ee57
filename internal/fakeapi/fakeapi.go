// Package fakeapi holds what every local fake of a DNS provider's HTTP API
// shares: per-request latency, an enforced rate limit, fault injection,
// request counting, and a transport that points unmodified clients at the
// fake. The fakes themselves live in the sub-packages, one per provider.
package fakeapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Fault makes matching requests fail. A fault with Times > 0 fires that many
// times and is then spent; Times == 0 fires forever.
type Fault struct {
	// Match selects the requests the fault applies to; nil matches all.
	Match func(*http.Request) bool
	// Status and Body are written as the response (with ContentType, default
	// application/json). RetryAfter, when set, goes in the Retry-After header.
	Status      int
	Body        string
	ContentType string
	RetryAfter  string
	// Hang blocks until the client gives up (its context or timeout ends).
	Hang bool
	// Reset closes the connection without a response.
	Reset bool
	Times int
}

// Options tune the behaviour shared by every fake.
type Options struct {
	// Latency is added to every request before it is served.
	Latency time.Duration
	// RateLimit, when > 0, is enforced per second with the given burst;
	// requests over it get the provider's throttling answer.
	RateLimit float64
	Burst     int
}

// Middleware wraps a fake's handler with latency, rate limit, faults and
// counting. It is safe for concurrent use.
type Middleware struct {
	opts    Options
	limiter *rate.Limiter
	// Throttled writes the provider's own "too many requests" answer.
	Throttled func(w http.ResponseWriter)

	mu     sync.Mutex
	faults []*Fault
	counts map[string]int
}

// NewMiddleware returns a middleware with the given options; throttled
// writes the provider's rate-limit response.
func NewMiddleware(opts Options, throttled func(http.ResponseWriter)) *Middleware {
	m := &Middleware{opts: opts, Throttled: throttled, counts: map[string]int{}}
	if opts.RateLimit > 0 {
		burst := opts.Burst
		if burst < 1 {
			burst = 1
		}
		m.limiter = rate.NewLimiter(rate.Limit(opts.RateLimit), burst)
	}
	return m
}

// AddFault installs a fault; faults are tried in the order added.
func (m *Middleware) AddFault(f Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ff := f
	m.faults = append(m.faults, &ff)
}

// ClearFaults removes every fault.
func (m *Middleware) ClearFaults() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = nil
}

// Counts returns the number of requests seen, keyed by "METHOD kind" where
// kind is given by the fake's classifier (e.g. "GET read", "POST write").
func (m *Middleware) Counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.counts))
	for k, v := range m.counts {
		out[k] = v
	}
	return out
}

// Total returns the number of requests seen, throttled and faulted ones included.
func (m *Middleware) Total() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, v := range m.counts {
		n += v
	}
	return n
}

// Writes returns the number of requests whose method is not GET or HEAD.
func (m *Middleware) Writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, v := range m.counts {
		if !strings.HasPrefix(k, "GET ") && !strings.HasPrefix(k, "HEAD ") {
			n += v
		}
	}
	return n
}

// ResetCounts zeroes the request counters.
func (m *Middleware) ResetCounts() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts = map[string]int{}
}

// String lists the counters, sorted, for test failure messages.
func (m *Middleware) String() string {
	c := m.Counts()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, c[k])
	}
	return strings.TrimSpace(b.String())
}

// Wrap returns next behind the middleware. classify names the request's kind
// for the counters (nil: the URL path).
func (m *Middleware) Wrap(next http.Handler, classify func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.URL.Path
		if classify != nil {
			kind = classify(r)
		}
		m.mu.Lock()
		m.counts[r.Method+" "+kind]++
		fault := m.takeFault(r)
		m.mu.Unlock()

		if m.opts.Latency > 0 {
			select {
			case <-time.After(m.opts.Latency):
			case <-r.Context().Done():
				return
			}
		}
		if fault != nil {
			serveFault(w, r, fault)
			return
		}
		if m.limiter != nil && !m.limiter.Allow() {
			m.Throttled(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (m *Middleware) takeFault(r *http.Request) *Fault {
	for i, f := range m.faults {
		if f.Match != nil && !f.Match(r) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				m.faults = append(m.faults[:i:i], m.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

func serveFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	switch {
	case f.Hang:
		<-r.Context().Done()
		return
	case f.Reset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body))
}

// Transport sends every request to Target instead of the host the client
// asked for, keeping the path and query: it points clients with a fixed base
// URL at a local fake. Base carries the rewritten request; it must not be
// http.DefaultTransport when the Transport itself is installed there.
type Transport struct {
	Target *url.URL
	Base   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme = t.Target.Scheme
	r.URL.Host = t.Target.Host
	r.Host = t.Target.Host
	if t.Base == nil {
		return nil, errors.New("fakeapi.Transport: Base is nil (give each fake its own *http.Transport)")
	}
	return t.Base.RoundTrip(r)
}

// Fake is what every provider fake offers to tests and to the benchmark
// harness, whatever the provider's wire format.
type Fake interface {
	// URL is the base URL of the fake's server, on loopback.
	URL() string
	// Middleware gives access to latency, faults and request counters.
	Middleware() *Middleware
	// AddZone creates a zone holding what the real service puts in a new
	// zone (apex SOA and NS where the service shows them).
	AddZone(zone string)
	// Seed adds records given in RFC 1035 presentation format with absolute
	// names, e.g. `www.example.com. 300 IN A 192.0.2.1`, stored the way the
	// real service would store them.
	Seed(zone string, rrs ...string) error
	// Dump returns every record of the zone as one canonical presentation
	// line each (miekg/dns RR.String of the record as DNS would serve it),
	// sorted: two dumps are equal when the zones mean the same.
	Dump(zone string) []string
	// Close stops the server.
	Close()
}

// Server is the HTTP side every fake shares: a loopback server behind the
// middleware, and a transport of its own that points clients at it. Fakes
// embed it.
type Server struct {
	srv  *httptest.Server
	mw   *Middleware
	base *http.Transport
}

// NewServer starts handler on a loopback port behind a middleware with
// opts; throttled writes the provider's rate-limit answer and classify
// names each request's kind for the counters.
func NewServer(handler http.Handler, classify func(*http.Request) string, opts Options, throttled func(http.ResponseWriter)) *Server {
	mw := NewMiddleware(opts, throttled)
	return &Server{
		srv: httptest.NewServer(mw.Wrap(handler, classify)),
		mw:  mw,
		// A transport of its own: tests may install Transport() as
		// http.DefaultTransport, which must not then call itself.
		base: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// URL is the base URL of the fake's server, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.srv.URL }

// Middleware gives access to latency, faults and request counters.
func (s *Server) Middleware() *Middleware { return s.mw }

// Transport rewrites every request, whatever host it names, to the fake.
func (s *Server) Transport() http.RoundTripper {
	u, _ := url.Parse(s.srv.URL)
	return &Transport{Target: u, Base: s.base}
}

// Close stops the server and drops idle client connections.
func (s *Server) Close() {
	s.srv.Close()
	s.base.CloseIdleConnections()
}
