package providers

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are one provider account's request budget, shared by every zone
// on that account.
type Limits struct {
	// Rate is requests per second; 0 means no limit.
	Rate  float64
	Burst int
	// Concurrency bounds the zones worked on at once on this account.
	Concurrency int
	// ChangeRate is record-change requests per second, a budget of its own
	// on top of Rate (Route 53 throttles changes separately); 0 = none.
	ChangeRate float64
	// DailyBudget is the requests a day the service allows the account (for
	// reporting how much of it a run used); 0 = no daily cap.
	DailyBudget int
}

// defaultLimits stay under each service's published limit with room for
// other tools on the same account: Cloudflare allows 1,200 requests per
// 5 minutes per user; Hetzner Cloud 3,600 per hour per project; Route 53
// 10 per second per account (bucket 50, since 2026-07-30) with a separate,
// lower limit on record changes; deSEC 50 reads per minute and 2,000
// requests per day per user (0.75/s with a burst of 3 makes at most 48 in
// any minute).
var defaultLimits = map[string]Limits{
	"cloudflare": {Rate: 3.5, Burst: 20, Concurrency: 4},
	"hetzner":    {Rate: 0.9, Burst: 30, Concurrency: 4},
	"route53":    {Rate: 10, Burst: 10, Concurrency: 4, ChangeRate: 4},
	"desec":      {Rate: 0.75, Burst: 3, Concurrency: 1, DailyBudget: 2000},
	"rfc2136":    {Concurrency: 8},
	"zonefile":   {Concurrency: 8},
}

// DefaultLimits returns the built-in budget of a provider type.
func DefaultLimits(typ string) Limits { return defaultLimits[typ] }

// merged fills the unset fields of l from the type's defaults.
func (l Limits) merged(typ string) Limits {
	d := defaultLimits[typ]
	if l.Rate > 0 {
		d.Rate = l.Rate
		if l.Burst == 0 {
			d.Burst = max(1, int(l.Rate))
		}
	}
	if l.Burst > 0 {
		d.Burst = l.Burst
	}
	if l.Concurrency > 0 {
		d.Concurrency = l.Concurrency
	}
	if l.ChangeRate > 0 {
		d.ChangeRate = l.ChangeRate
	}
	if d.Concurrency < 1 {
		d.Concurrency = 4
	}
	if d.Burst < 1 {
		d.Burst = 1
	}
	return d
}

// meter enforces one account's limits and counts its requests.
type meter struct {
	limits  Limits
	limiter *rate.Limiter // nil: unlimited
	changes *rate.Limiter // record changes, on top of limiter; nil: no separate limit
	slots   chan struct{}

	// log hears each request at debug level; never nil once built.
	log *slog.Logger

	mu         sync.Mutex
	pauseUntil time.Time
	throttle   *throttle // nil: unlimited
	stats      Stats
}

// Stats is one provider account's API use during a run.
type Stats struct {
	// Requests counts API requests by kind: "read", "write", "zone".
	Requests map[string]int `json:"requests"`
	// Retries counts requests sent again after a throttle or a failure.
	Retries int `json:"retries"`
	// Throttled counts the throttling answers (429) seen.
	Throttled int `json:"throttled"`
	// ThrottleEvents counts the bursts of them: 429s within one
	// Retry-After window are one event, and only an event slows the account.
	ThrottleEvents int `json:"throttle_events"`
	// Waited is the time spent waiting for the rate limit or Retry-After.
	Waited time.Duration `json:"waited_ns"`
	// DailyBudget is the service's daily request cap for the account
	// (deSEC: 2,000), 0 when it has none; the run used Total() of it.
	DailyBudget int `json:"daily_budget,omitempty"`
	// Waiting counts the requests waiting for the rate limit or a
	// Retry-After pause right now, for a progress display.
	Waiting int `json:"-"`
}

// BudgetUsed is the share of the daily budget the requests so far used,
// in percent; 0 without a budget.
func (s Stats) BudgetUsed() float64 {
	if s.DailyBudget <= 0 {
		return 0
	}
	return 100 * float64(s.Total()) / float64(s.DailyBudget)
}

// Total is the number of requests of every kind.
func (s Stats) Total() int {
	n := 0
	for _, v := range s.Requests {
		n += v
	}
	return n
}

// Kinds lists the request kinds counted, sorted.
func (s Stats) Kinds() []string {
	out := make([]string, 0, len(s.Requests))
	for k := range s.Requests {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func newMeter(l Limits, log *slog.Logger) *meter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &meter{log: log, limits: l, slots: make(chan struct{}, l.Concurrency), stats: Stats{Requests: map[string]int{}, DailyBudget: l.DailyBudget}}
	if l.Rate > 0 {
		m.limiter = rate.NewLimiter(rate.Limit(l.Rate), l.Burst)
		m.throttle = newThrottle(l.Rate)
	}
	if l.ChangeRate > 0 {
		m.changes = rate.NewLimiter(rate.Limit(l.ChangeRate), 1)
	}
	return m
}

// waitChange takes one record change's worth of the change budget.
func (m *meter) waitChange(ctx context.Context) error {
	if m.changes == nil {
		return nil
	}
	start := time.Now()
	err := m.changes.Wait(ctx)
	if d := time.Since(start); d > time.Millisecond {
		m.mu.Lock()
		m.stats.Waited += d
		m.mu.Unlock()
	}
	return err
}

// wait takes n requests' worth of budget, honouring any Retry-After pause.
func (m *meter) wait(ctx context.Context, n int) error {
	start := time.Now()
	defer func() {
		m.mu.Lock()
		m.stats.Waiting--
		if d := time.Since(start); d > time.Millisecond {
			m.stats.Waited += d
		}
		m.mu.Unlock()
	}()
	m.mu.Lock()
	m.stats.Waiting++
	pause := m.pauseUntil.Sub(start)
	m.recover(start)
	m.mu.Unlock()
	if pause > 0 {
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}
	if m.limiter == nil || n <= 0 {
		return nil
	}
	for n > 0 {
		k := min(n, m.limiter.Burst())
		if err := m.limiter.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (m *meter) count(kind string, n int) {
	m.mu.Lock()
	m.stats.Requests[kind] += n
	m.mu.Unlock()
}

func (m *meter) retried() {
	m.mu.Lock()
	m.stats.Retries++
	m.mu.Unlock()
}

// throttled slows the account down after the service said "too many
// requests" to a request sent at sentAt: every request waits out the pause,
// and the first 429 of a burst cuts the rate (see throttle), so the run
// goes on slower instead of failing.
func (m *meter) throttled(sentAt time.Time, pause time.Duration) {
	m.throttledAt(time.Now(), sentAt, pause)
}

// throttledAt is throttled at a given time.
func (m *meter) throttledAt(now, sentAt time.Time, pause time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Throttled++
	if until := now.Add(pause); until.After(m.pauseUntil) {
		m.pauseUntil = until
	}
	if m.throttle == nil || !m.throttle.hit(now, sentAt, pause) {
		return
	}
	m.stats.ThrottleEvents++
	m.limiter.SetLimitAt(now, rate.Limit(m.throttle.rate))
	// The tokens saved up during the pause would go out as one burst the
	// moment it ends and be refused again: requests resume at the new rate.
	if n := int(m.limiter.TokensAt(m.pauseUntil)); n > 0 {
		m.limiter.ReserveN(m.pauseUntil, n)
	}
}

// recover raises the rate as the throttle allows at now; m.mu is held.
func (m *meter) recover(now time.Time) {
	if m.throttle == nil {
		return
	}
	if r := rate.Limit(m.throttle.at(now)); r != m.limiter.Limit() {
		m.limiter.SetLimitAt(now, r)
	}
}

func (m *meter) snapshot() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Requests = make(map[string]int, len(m.stats.Requests))
	for k, v := range m.stats.Requests {
		s.Requests[k] = v
	}
	return s
}

// meteredTransport limits and counts every HTTP request of a client whose
// transport we own.
type meteredTransport struct {
	m    *meter
	base http.RoundTripper
}

func (t *meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.m.wait(req.Context(), 1); err != nil {
		return nil, err
	}
	t.m.count(requestKind(req), 1)
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if t.m.log.Enabled(req.Context(), slog.LevelDebug) {
		// Method, host and path only: the query and headers may carry
		// what is not for a log.
		attrs := []any{"method", req.Method, "host", req.URL.Host, "path", req.URL.Path, "took", time.Since(start).Round(time.Millisecond)}
		if err != nil {
			attrs = append(attrs, "error", err)
		} else {
			attrs = append(attrs, "status", resp.StatusCode)
		}
		t.m.log.Debug("http request", attrs...)
	}
	return resp, err
}

func requestKind(req *http.Request) string {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return "write"
	}
	return "read"
}
