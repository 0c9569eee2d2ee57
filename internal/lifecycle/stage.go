package lifecycle

import (
	"fmt"
	"time"
)

// Stage is where a domain in retire: stands on one run.
type Stage string

const (
	// Retiring: mode none is (or is about to be) published under its own
	// id, and senders' cached policies have not all expired yet.
	Retiring Stage = "retiring"
	// Removing: the wait is over; the domain's records go, in reverse order.
	Removing Stage = "removing"
	// Retired: none of the domain's records are left.
	Retired Stage = "retired"
	// TooLate: the date in retire: lies more than Late before the first
	// time mode none went out, so waiting from it would end too early.
	TooLate Stage = "too-late"
)

// Live is what DNS holds of a retiring domain's records now.
type Live struct {
	// STSIDs are the ids of the v=STSv1 TXT records at _mta-sts.<domain>.
	STSIDs []string
	// STSPointer: _mta-sts.<domain> is a CNAME to another managed domain's
	// (the delegated layout), so the domain still shares that id.
	STSPointer bool
	// Any: at least one record of ours is left at the domain's names.
	Any bool
}

// Decide says where a retiring domain stands at now, given its window,
// the id of the mode-none policy it serves while retiring, and DNS.
//
// The wait counts from the date in retire:, but that date is only a
// promise that mode none went out then; DNS tells whether it did. While
// the _mta-sts record still announces another policy, mode none has not
// gone out: it goes out now, which is fine on the day the date names (up
// to Late after it) and too late after that: senders fetching the old
// policy today keep it beyond the window, so the run refuses the domain
// and asks for today's date.
func Decide(w Window, now time.Time, noneID string, live Live) Stage {
	if !live.Any {
		return Retired
	}
	noneLive := len(live.STSIDs) == 1 && live.STSIDs[0] == noneID && !live.STSPointer
	stsGone := len(live.STSIDs) == 0 && !live.STSPointer
	switch {
	case noneLive || stsGone:
		if w.Over(now) {
			return Removing
		}
		return Retiring
	case now.Sub(w.Since) > Late:
		return TooLate
	}
	return Retiring
}

// TooLateError explains TooLate for domain: what DNS shows and the date
// to put in retire: instead.
func TooLateError(domain string, w Window, now time.Time) error {
	return fmt.Errorf("retire: %s: %s: its _mta-sts record still announces the policy from before, so mode none has not gone out yet and the wait cannot have begun on %s; set retire: %s: %s (today), so that the records go only after senders' cached policies (max_age %d) expire",
		domain, When(w.Since), When(w.Since), domain, now.UTC().Format(time.DateOnly), w.MaxAge)
}
