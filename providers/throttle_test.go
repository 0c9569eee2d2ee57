package providers

import (
	"math"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// TestThrottleBurstIsOneEvent: twelve 429s from one burst of requests cut
// the rate once, not twelve times (300 × 0.8¹² ≈ 21 req/s before).
func TestThrottleBurstIsOneEvent(t *testing.T) {
	m := newMeter(Limits{Rate: 300, Burst: 30, Concurrency: 16}, nil)
	for i := range 12 {
		m.throttledAt(t0.Add(ms(i)), t0.Add(-ms(50)), time.Second)
	}
	if got := float64(m.limiter.Limit()); got != 300*cutFactor {
		t.Errorf("rate after one burst of 429s = %g, want %g", got, 300*cutFactor)
	}
	st := m.snapshot()
	if st.Throttled != 12 || st.ThrottleEvents != 1 {
		t.Errorf("throttled %d, events %d; want 12 and 1", st.Throttled, st.ThrottleEvents)
	}
	if want := t0.Add(ms(11) + time.Second); !m.pauseUntil.Equal(want) {
		t.Errorf("pause until %v, want %v (the last Retry-After)", m.pauseUntil, want)
	}
}

// TestThrottleEvents: which 429s begin a new event.
func TestThrottleEvents(t *testing.T) {
	tests := []struct {
		name         string
		arrive, sent time.Duration // of the second 429, after the first
		pause        time.Duration // Retry-After of both
		newEvent     bool
	}{
		{"within the Retry-After window", ms(900), ms(800), time.Second, false},
		{"after the window, sent before the event", ms(1500), -ms(10), time.Second, false},
		{"after the window, sent after the event", ms(1500), ms(1200), time.Second, true},
		{"Retry-After 0 still groups a burst", ms(500), ms(400), 0, false},
		{"long Retry-After, long window", ms(4000), ms(3900), 5 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th := newThrottle(300)
			if !th.hit(t0, t0.Add(-ms(50)), tc.pause) {
				t.Fatal("the first 429 began no event")
			}
			if got := th.hit(t0.Add(tc.arrive), t0.Add(tc.sent), tc.pause); got != tc.newEvent {
				t.Errorf("second 429: new event %v, want %v", got, tc.newEvent)
			}
			want := 300 * cutFactor
			if tc.newEvent {
				want *= cutFactor
			}
			if math.Abs(th.rate-want) > 1e-9 {
				t.Errorf("rate %g, want %g", th.rate, want)
			}
		})
	}
}

// TestThrottleRecovers: after one event the rate stays down while the
// service's window lasts, then climbs back to the configured rate within
// a few seconds of success, never above it.
func TestThrottleRecovers(t *testing.T) {
	th := newThrottle(300)
	th.hit(t0, t0, time.Second)
	steps := []struct {
		after time.Duration
		want  float64
	}{
		{ms(500), 210},
		{ms(1999), 210},
		{ms(2000), 240}, // careFactor of the rate refused
		{ms(3000), 240 * 1.02},
		{ms(4000), 240 * 1.02 * 1.04},
		{ms(5000), 240 * 1.02 * 1.04 * 1.06},
		{ms(6000), 240 * 1.02 * 1.04 * 1.06 * 1.08},
		{ms(7000), 300},
		{ms(60000), 300},
	}
	for _, s := range steps {
		if got := th.at(t0.Add(s.after)); math.Abs(got-s.want) > 1e-9 {
			t.Errorf("%v after the 429: rate %g, want %g", s.after, got, s.want)
		}
	}
}

// TestThrottleRisesPastAnOldCeiling: once the rate is back where the
// service refused it without a new 429, the service's limit has gone up,
// and the rate climbs fast.
func TestThrottleRisesPastAnOldCeiling(t *testing.T) {
	th := newThrottle(1000)
	th.hit(t0, t0, time.Second)                             // 1000 -> 700
	th.at(t0.Add(ms(2000)))                                 // 800
	th.hit(t0.Add(ms(2500)), t0.Add(ms(2400)), time.Second) // 800 -> 560, ceiling 800
	var got float64
	for s := 4500; s <= 30000; s += 1000 {
		got = th.at(t0.Add(ms(s)))
	}
	if got != 1000 {
		t.Errorf("rate 27 s after the last 429 = %g, want the configured 1000", got)
	}
}

// allowAt is meter.wait at a given time, without blocking: whether a
// request may go out at now.
func allowAt(m *meter, now time.Time) bool {
	m.mu.Lock()
	paused := now.Before(m.pauseUntil)
	m.recover(now)
	m.mu.Unlock()
	return !paused && m.limiter.AllowN(now, 1)
}

// TestThrottleAgainstTokenBucket drives the meter, on a fake clock, against
// a service that enforces its own token bucket, as the Cloudflare fake does,
// with the config promising more than the service allows. It checks the
// requests the service accepted in a minute against the most it could
// accept, and that the 429s came in few events.
func TestThrottleAgainstTokenBucket(t *testing.T) {
	tests := []struct {
		service, config float64
		minShare        float64 // of what the service's limit allows
		maxEvents       int
	}{
		{service: 100, config: 300, minShare: 0.75, maxEvents: 15},
		{service: 250, config: 300, minShare: 0.75, maxEvents: 12},
		{service: 300, config: 100, minShare: 0.98, maxEvents: 0}, // never throttled
	}
	const (
		latency     = 50 * time.Millisecond
		concurrency = 16
		run         = time.Minute
	)
	for _, tc := range tests {
		t.Run("", func(t *testing.T) {
			service := rate.NewLimiter(rate.Limit(tc.service), int(tc.service/5))
			m := newMeter(Limits{Rate: tc.config, Burst: int(tc.config / 10), Concurrency: concurrency}, nil)
			var inFlight []time.Time // when each request in flight was sent
			accepted := 0
			for now := t0; now.Before(t0.Add(run)); now = now.Add(time.Millisecond) {
				kept := inFlight[:0]
				for _, sent := range inFlight {
					if now.Sub(sent) < latency {
						kept = append(kept, sent)
						continue
					}
					// The service judged it on arrival; its answer is back now.
					if service.AllowN(sent.Add(latency/2), 1) {
						accepted++
					} else {
						m.throttledAt(now, sent, time.Second)
					}
				}
				inFlight = kept
				for len(inFlight) < concurrency && allowAt(m, now) {
					inFlight = append(inFlight, now)
				}
			}
			most := tc.service*run.Seconds() + float64(service.Burst())
			if tc.config < tc.service {
				most = tc.config*run.Seconds() + float64(m.limiter.Burst())
			}
			st := m.snapshot()
			t.Logf("service %g/s, config %g/s: %d accepted of at most %.0f (%.2f), %d 429s in %d events",
				tc.service, tc.config, accepted, most, float64(accepted)/most, st.Throttled, st.ThrottleEvents)
			if share := float64(accepted) / most; share < tc.minShare {
				t.Errorf("accepted %.2f of what the service allows, want at least %.2f", share, tc.minShare)
			}
			if st.ThrottleEvents > tc.maxEvents {
				t.Errorf("%d throttle events in a minute, want at most %d", st.ThrottleEvents, tc.maxEvents)
			}
		})
	}
}
