package providers

import (
	"time"
)

// throttle sets an account's request rate from the service's throttling
// answers (429). It holds no clock: every method is given the time, so the
// logic is tested with a fake one.
//
// One burst of requests over the service's limit comes back as many 429s
// at once; they are one throttle event, not one each. A 429 belongs to the
// current event when it arrives within the event's window (its Retry-After,
// at least minEventWindow) or answers a request sent before the event began
// (a reaction to the old rate). Each event cuts the rate to cutFactor of
// what it was and remembers that rate as the ceiling. Recovery starts when
// the window ends: after each recoveryStep without a new event the rate goes
// up, at once to careFactor of the ceiling (the rate just below the one the
// service refused), then in steps growing by creepStep each time, so a
// service whose limit the config overstates is probed rarely, and an account
// throttled once by someone else's burst is back at its configured rate
// within a few seconds.
type throttle struct {
	max  float64 // the configured rate
	rate float64 // the rate in force
	// ceiling is the rate in force at the last event.
	ceiling float64
	// start and windowEnd bound the current event.
	start, windowEnd time.Time
	// next is when the rate may go up again; creeps counts the careful
	// raises made since the last event.
	next   time.Time
	creeps int
}

const (
	cutFactor      = 0.7
	careFactor     = 0.8
	creepStep      = 0.02
	recoveryStep   = time.Second
	minEventWindow = time.Second
	// minRate is the floor of any cut, in requests per second.
	minRate = 0.1
)

func newThrottle(rate float64) *throttle {
	return &throttle{max: rate, rate: rate}
}

// hit records a 429 that arrived at now for a request sent at sentAt, with
// the pause the service asked for. It reports whether it began a new event
// (and so cut the rate).
func (t *throttle) hit(now, sentAt time.Time, pause time.Duration) bool {
	if now.Before(t.windowEnd) || sentAt.Before(t.start) {
		return false
	}
	t.ceiling = t.rate
	t.rate = max(minRate, t.rate*cutFactor)
	t.start = now
	t.windowEnd = now.Add(max(pause, minEventWindow))
	t.next = t.windowEnd.Add(recoveryStep)
	t.creeps = 0
	return true
}

// at returns the rate in force at now, raising it for every recovery step
// passed without an event.
func (t *throttle) at(now time.Time) float64 {
	for t.rate < t.max && !now.Before(t.next) {
		care := t.ceiling * careFactor
		switch {
		case t.rate < care:
			t.rate = care
		case t.rate < t.ceiling:
			t.creeps++
			t.rate *= 1 + creepStep*float64(t.creeps)
		default:
			// Past the rate refused last time: the limit has gone up.
			t.rate *= 1.5
		}
		t.rate = min(t.rate, t.max)
		t.next = t.next.Add(recoveryStep)
	}
	return t.rate
}
