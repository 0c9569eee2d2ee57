// Package lifecycle holds the rules of a mail domain's end and of policy
// changes that senders' caches outlive (RFC 8461 §5.1, §8.3). It is pure:
// it gets the policies, dates and clock from its caller and does no I/O.
//
// A sender that fetched a policy keeps it for the policy's max_age, even
// when the _mta-sts record is gone. So a domain leaving MTA-STS first serves
// mode none under a new id, for as long as any sender may still hold the
// last policy it fetched, and only then loses its records. The length of
// that wait is carried by the mode-none policy itself (its max_age is the
// largest one published for the domain), so any machine reading what is
// served reaches the same answer: no state lives on one machine's disk.
package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// RetiringPolicy returns the mode-none policy a retiring domain serves.
// prev is the policy published for the domain now (zero when unknown);
// fallback is the config's policy (zero when the config has none). Its
// max_age is the larger of the two, so that it remembers how long senders
// may hold what was published before; with neither it is one year, the
// longest any sender may have cached. Its mx patterns are prev's (mailcow
// serves no policy without one), else fallback's.
func RetiringPolicy(prev, fallback mtasts.Policy) mtasts.Policy {
	p := mtasts.Policy{Mode: mtasts.ModeNone, MaxAge: max(prev.MaxAge, fallback.MaxAge), MX: prev.MX}
	if p.MaxAge <= 0 {
		p.MaxAge = mtasts.MaxMaxAge
	}
	if len(p.MX) == 0 {
		p.MX = fallback.MX
	}
	return p.Normalize()
}

// Window is a domain's retirement: from Since, the date or time mode none
// goes out, until senders' cached policies from before have expired:
// Since plus the max_age they may have cached, plus Late, the day mode
// none may take to go out after the date named (a cron run, a policy host
// still getting its certificate).
type Window struct {
	Since  time.Time
	MaxAge int64 // seconds
}

// Until is when the records may go.
func (w Window) Until() time.Time {
	return w.Since.Add(time.Duration(w.MaxAge)*time.Second + Late)
}

// Over reports whether the wait is over at now: the records may go.
func (w Window) Over(now time.Time) bool { return !now.Before(w.Until()) }

// Late is how long after Since mode none may go out for the first time
// and still count as begun on Since: the day a date names.
const Late = 24 * time.Hour

// Describe is the plan's line for a retiring domain, e.g. "retiring since
// 2026-11-20: mode none; records removed after 2026-11-27" (a date: once
// that day is over).
func (w Window) Describe() string {
	return fmt.Sprintf("retiring since %s: mode none; records removed after %s", When(w.Since), w.After())
}

// After names when the records go, for people: for a date, the day after
// which they go (the wait ends at the end of it); else the time.
func (w Window) After() string {
	if u := w.Until().UTC(); isDate(u) && isDate(w.Since) {
		return When(u.Add(-24 * time.Hour))
	}
	return When(w.Until())
}

func isDate(t time.Time) bool {
	t = t.UTC()
	return t.Equal(t.Truncate(24 * time.Hour))
}

// When formats a time for people: a date for midnight UTC, else the date
// and time in UTC to the minute.
func When(t time.Time) string {
	if isDate(t) {
		return t.UTC().Format(time.DateOnly)
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// ChangeWarnings says what senders that cached old keep doing after new
// replaces it at now (an empty old means none was published: no warning).
// what names the policy, e.g. "the policy of example.org" or "policy.file".
//
//   - an mx pattern removed under enforce (an MX migration), unless the new
//     patterns cover it: senders refuse MX hosts the cached policy does not
//     list until it expires;
//   - a lower max_age: senders keep the old one until their copy expires;
//   - enforce to testing or none: senders keep enforcing until then.
func ChangeWarnings(what string, old, new mtasts.Policy, now time.Time) []string {
	if old.Mode == "" || old.Equal(new) {
		return nil
	}
	old, new = old.Normalize(), new.Normalize()
	until := When(now.Add(time.Duration(old.MaxAge) * time.Second))
	var out []string
	if old.Mode == mtasts.ModeEnforce {
		if gone := Uncovered(old.MX, new.MX); len(gone) > 0 {
			out = append(out, fmt.Sprintf("%s: mx %s leaves an enforce policy: senders that cached it (max_age %d) refuse MX hosts it does not list until %s; keep %s in mx until then, with the new MX added beside it, and move the MX records after that",
				what, strings.Join(gone, ", "), old.MaxAge, until, strings.Join(gone, ", ")))
		}
		if new.Mode != mtasts.ModeEnforce {
			out = append(out, fmt.Sprintf("%s: mode enforce -> %s: senders that cached the enforce policy keep enforcing it until %s", what, new.Mode, until))
		}
	}
	if new.MaxAge < old.MaxAge {
		out = append(out, fmt.Sprintf("%s: max_age %d -> %d: senders keep the cached max_age %d until %s", what, old.MaxAge, new.MaxAge, old.MaxAge, until))
	}
	return out
}

// Uncovered returns the patterns of old that no pattern of new covers:
// a host is covered by an equal pattern or a wildcard matching it, a
// wildcard only by the same wildcard.
func Uncovered(old, new []string) []string {
	var out []string
	for _, o := range old {
		covered := slices.ContainsFunc(new, func(n string) bool {
			if strings.EqualFold(n, o) {
				return true
			}
			return !strings.HasPrefix(o, "*.") && mtasts.MatchMX(n, o)
		})
		if !covered {
			out = append(out, o)
		}
	}
	return out
}
