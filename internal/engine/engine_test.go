package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
	"github.com/mtasts-sync/mtasts-sync/providers"
)

const testToken = "engine-test-token"

// testConfig is a direct-layout config of n domains, each the apex of its
// own zone on one Cloudflare account; limits is YAML added to the
// provider (rate_limit, burst, concurrency).
func testConfig(t *testing.T, n int, limits string) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString(`policy:
  mode: testing
  max_age: 604800
  mx: [mail.example.com]
policy_host: mail.example.com
tlsrpt:
  rua: [mailto:tls-reports@example.com]
layout: direct
ttl: 3600
publish_gate: false
providers:
  cf:
    type: cloudflare
    api_token: ` + testToken + "\n")
	for _, l := range strings.Split(strings.TrimSpace(limits), "\n") {
		if l != "" {
			b.WriteString("    " + l + "\n")
		}
	}
	b.WriteString("domains:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - %s\n", zoneName(i))
	}
	b.WriteString("zones:\n")
	for i := range n {
		fmt.Fprintf(&b, "  %s: cf\n", zoneName(i))
	}
	path := filepath.Join(t.TempDir(), "mtasts-sync.yaml")
	cfg, err := config.Parse([]byte(b.String()), path, ConfigOptions())
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	return cfg
}

func zoneName(i int) string { return fmt.Sprintf("zone%02d.example", i) }

// newFake starts a Cloudflare fake holding n zones, each with a foreign record.
func newFake(t *testing.T, n int, opts fakeapi.Options) *cloudflarefake.Server {
	t.Helper()
	fake := cloudflarefake.New(testToken, opts)
	t.Cleanup(fake.Close)
	for i := range n {
		if err := fake.Seed(zoneName(i), "www."+zoneName(i)+". 300 IN A 192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	return fake
}

func newEngine(t *testing.T, cfg *config.Config, rt http.RoundTripper) *Engine {
	t.Helper()
	e, err := New(context.Background(), cfg, Options{Providers: providers.Options{Transport: rt}})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return e
}

// inflight counts the requests in flight. Until hold record reads are in
// flight at once it keeps each waiting, so a test sees that the bound is
// reached, not only that it is kept. Zone lookups are not held: the
// Cloudflare client makes them one at a time under a mutex.
type inflight struct {
	base http.RoundTripper
	hold int

	mu       sync.Mutex
	cur, max int
	total    int
	reached  chan struct{}
	once     sync.Once
	starved  bool
}

func newInflight(base http.RoundTripper, hold int) *inflight {
	return &inflight{base: base, hold: hold, reached: make(chan struct{})}
}

func (t *inflight) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.cur++
	t.total++
	t.max = max(t.max, t.cur)
	full := t.cur >= t.hold
	t.mu.Unlock()
	if full {
		t.once.Do(func() { close(t.reached) })
	}
	if !strings.Contains(req.URL.Path, "/dns_records") {
		return t.done(t.base.RoundTrip(req))
	}
	select {
	case <-t.reached:
	case <-req.Context().Done():
	case <-time.After(10 * time.Second):
		// Never reached: the engine runs fewer at once than allowed.
		t.mu.Lock()
		t.starved = true
		t.mu.Unlock()
		t.once.Do(func() { close(t.reached) })
	}
	return t.done(t.base.RoundTrip(req))
}

func (t *inflight) done(resp *http.Response, err error) (*http.Response, error) {
	t.mu.Lock()
	t.cur--
	t.mu.Unlock()
	return resp, err
}

func (t *inflight) stats() (maxInFlight, total int, starved bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max, t.total, t.starved
}

func TestAccountConcurrencyBoundsRequestsInFlight(t *testing.T) {
	for _, tc := range []struct {
		name        string
		limits      string
		concurrency int
	}{
		{"config concurrency 3", "rate_limit: 1000/s\nburst: 1000\nconcurrency: 3", 3},
		{"config concurrency 1", "rate_limit: 1000/s\nburst: 1000\nconcurrency: 1", 1},
		{"cloudflare default 4", "rate_limit: 1000/s\nburst: 1000", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const zones = 10
			fake := newFake(t, zones, fakeapi.Options{Latency: 5 * time.Millisecond})
			rt := newInflight(fake.Transport(), tc.concurrency)
			e := newEngine(t, testConfig(t, zones, tc.limits), rt)
			ctx := context.Background()
			run, err := e.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rep := e.Apply(ctx, run)
			if rep.Err != nil {
				t.Fatalf("apply: %v", rep.Err)
			}
			maxIn, total, starved := rt.stats()
			if maxIn > tc.concurrency {
				t.Errorf("%d requests in flight at once, want at most %d (the account's concurrency)", maxIn, tc.concurrency)
			}
			if starved {
				t.Errorf("never %d requests in flight at once: the account's slots are not all used", tc.concurrency)
			}
			if total != fake.Middleware().Total() {
				t.Errorf("transport saw %d requests, fake %d", total, fake.Middleware().Total())
			}
		})
	}
}

func TestRateLimitBoundsRequestsPerSecond(t *testing.T) {
	t.Parallel()
	const (
		zones = 6
		rate  = 40.0
		burst = 3
	)
	fake := newFake(t, zones, fakeapi.Options{})
	e := newEngine(t, testConfig(t, zones, fmt.Sprintf("rate_limit: %g/s\nburst: %d\nconcurrency: 4", rate, burst)), fake.Transport())
	ctx := context.Background()
	start := time.Now()
	run, err := e.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep := e.Apply(ctx, run); rep.Err != nil {
		t.Fatalf("apply: %v", rep.Err)
	}
	elapsed := time.Since(start)
	n := fake.Middleware().Total()
	// A token bucket lets through at most burst + rate*t requests in any
	// span t: the run can only be slower than that, never faster.
	if allowed := float64(burst) + rate*elapsed.Seconds() + 1; float64(n) > allowed {
		t.Errorf("%d requests in %s: more than burst %d + rate %g/s allows (%.1f)", n, elapsed, burst, rate, allowed)
	}
	if n <= burst {
		t.Fatalf("only %d requests: the test does not exercise the limiter", n)
	}
	st := e.Stats()["cf"]
	if st.Waited <= 0 {
		t.Errorf("stats show no time waited for the rate limit: %+v", st)
	}
	if st.Total() != n {
		t.Errorf("stats count %d requests, the fake saw %d (%s)", st.Total(), n, fake.Middleware())
	}
}

func TestSummaryCountsZonesDomainsAndRequests(t *testing.T) {
	t.Parallel()
	const zones = 5
	fake := newFake(t, zones, fakeapi.Options{})
	e := newEngine(t, testConfig(t, zones, "rate_limit: 1000/s\nburst: 1000"), fake.Transport())
	ctx := context.Background()
	run, err := e.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	planReads := fake.Middleware().Total()
	if rep := e.Apply(ctx, run); rep.Err != nil {
		t.Fatalf("apply: %v", rep.Err)
	}
	s := e.Summary(run, time.Second)
	if s.Zones != zones || s.Domains != zones || s.ZonesByDNS != 0 {
		t.Errorf("summary zones=%d domains=%d by_dns=%d, want %d, %d, 0", s.Zones, s.Domains, s.ZonesByDNS, zones, zones)
	}
	st, ok := s.API["cf"]
	if !ok {
		t.Fatalf("summary has no API use for provider cf: %+v", s.API)
	}
	counts := fake.Middleware().Counts()
	wantWrites := counts["POST write"] + counts["PATCH write"] + counts["DELETE write"]
	if st.Requests["write"] != wantWrites {
		t.Errorf("summary counts %d writes, the fake saw %d (%s)", st.Requests["write"], wantWrites, fake.Middleware())
	}
	// Three records per domain, each one POST.
	if wantWrites != 3*zones {
		t.Errorf("%d writes for %d new domains, want %d", wantWrites, zones, 3*zones)
	}
	if st.Total() != fake.Middleware().Total() {
		t.Errorf("summary counts %d requests, the fake saw %d", st.Total(), fake.Middleware().Total())
	}
	if st.Retries != 0 || st.Throttled != 0 {
		t.Errorf("retries %d, throttled %d on a healthy fake", st.Retries, st.Throttled)
	}
	if planReads == 0 || st.Requests["read"] < planReads {
		t.Errorf("summary counts %d reads, the plan alone made %d", st.Requests["read"], planReads)
	}

	// A second run plans nothing and writes nothing.
	e2 := newEngine(t, testConfig(t, zones, "rate_limit: 1000/s\nburst: 1000"), fake.Transport())
	run2, err := e2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if run2.Plan.Pending() {
		t.Errorf("second plan has changes: %+v", run2.Plan.Summary())
	}
	if got := e2.Summary(run2, 0).API["cf"].Requests["write"]; got != 0 {
		t.Errorf("second run wrote %d times", got)
	}
	if rep := e2.Apply(ctx, run2); rep.Err != nil || len(rep.Results) != 0 {
		t.Errorf("second apply: results %d, err %v", len(rep.Results), rep.Err)
	}
}

func TestSummaryOfNilRun(t *testing.T) {
	t.Parallel()
	fake := newFake(t, 1, fakeapi.Options{})
	e := newEngine(t, testConfig(t, 1, ""), fake.Transport())
	s := e.Summary(nil, time.Second)
	if s.Zones != 0 || s.Domains != 0 || s.Wall != time.Second {
		t.Errorf("summary of no run: %+v", s)
	}
	if st := s.API["cf"]; st.Total() != 0 {
		t.Errorf("requests counted before any run: %+v", st)
	}
}

func TestApplyCancelledStartsNoZone(t *testing.T) {
	t.Parallel()
	const zones = 4
	fake := newFake(t, zones, fakeapi.Options{})
	e := newEngine(t, testConfig(t, zones, "rate_limit: 1000/s\nburst: 1000\nconcurrency: 1"), fake.Transport())
	run, err := e.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fake.Middleware().ResetCounts()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := e.Apply(ctx, run)
	if !errors.Is(rep.Err, context.Canceled) {
		t.Errorf("apply after cancel: err %v, want context.Canceled", rep.Err)
	}
	if w := fake.Middleware().Writes(); w != 0 {
		t.Errorf("%d writes after the context was cancelled (%s)", w, fake.Middleware())
	}
	for i := range zones {
		if !strings.Contains(rep.Err.Error(), zoneName(i)) {
			t.Errorf("error does not name zone %s: %v", zoneName(i), rep.Err)
		}
	}
}
