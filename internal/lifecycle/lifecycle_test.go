package lifecycle

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

var now = time.Date(2026, 12, 6, 15, 30, 0, 0, time.UTC)

func pol(mode mtasts.Mode, maxAge int64, mx ...string) mtasts.Policy {
	return mtasts.Policy{Mode: mode, MaxAge: maxAge, MX: mx}
}

func TestRetiringPolicy(t *testing.T) {
	tests := []struct {
		name           string
		prev, fallback mtasts.Policy
		want           mtasts.Policy
	}{
		{"served enforce, longer than config", pol("enforce", 1209600, "Mail.example.com"), pol("enforce", 604800, "mx.example.net"), pol("none", 1209600, "mail.example.com")},
		{"config longer", pol("testing", 86400, "mail.example.com"), pol("enforce", 604800, "mx.example.net"), pol("none", 604800, "mail.example.com")},
		{"already none: stable", pol("none", 1209600, "mail.example.com"), pol("enforce", 604800, "mail.example.com"), pol("none", 1209600, "mail.example.com")},
		{"nothing served", mtasts.Policy{}, pol("enforce", 604800, "mail.example.com"), pol("none", 604800, "mail.example.com")},
		{"nothing known", mtasts.Policy{}, mtasts.Policy{}, pol("none", mtasts.MaxMaxAge)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RetiringPolicy(tt.prev, tt.fallback)
			if !got.Equal(tt.want) || got.Mode != mtasts.ModeNone {
				t.Errorf("RetiringPolicy = %+v, want %+v", got, tt.want)
			}
			if tt.prev.Mode != "" && tt.prev.Mode != mtasts.ModeNone && got.ID() == tt.prev.ID() {
				t.Errorf("the retiring policy has the old id %s; it needs its own", got.ID())
			}
		})
	}
}

func TestWindow(t *testing.T) {
	w := Window{Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), MaxAge: 604800}
	if got, want := w.Describe(), "retiring since 2026-11-20: mode none; records removed after 2026-11-27"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		at   time.Time
		over bool
	}{
		{time.Date(2026, 11, 27, 23, 59, 59, 0, time.UTC), false},
		{time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		if got := w.Over(tt.at); got != tt.over {
			t.Errorf("Over(%s) = %v, want %v", tt.at, got, tt.over)
		}
	}
	odd := Window{Since: time.Date(2026, 11, 20, 9, 30, 0, 0, time.FixedZone("", 7200)), MaxAge: 86400}
	if got, want := odd.Describe(), "retiring since 2026-11-20 07:30 UTC: mode none; records removed after 2026-11-22 07:30 UTC"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestUncovered(t *testing.T) {
	tests := []struct {
		old, new, want []string
	}{
		{[]string{"mail.example.com"}, []string{"mail.example.com"}, nil},
		{[]string{"mail.example.com"}, []string{"*.example.com"}, nil},
		{[]string{"mail.example.com", "mx2.example.com"}, []string{"mx.new.example"}, []string{"mail.example.com", "mx2.example.com"}},
		{[]string{"*.example.com"}, []string{"mail.example.com"}, []string{"*.example.com"}},
		{[]string{"*.example.com"}, []string{"*.example.com", "mx.new.example"}, nil},
		{[]string{"a.b.example.com"}, []string{"*.example.com"}, []string{"a.b.example.com"}},
	}
	for _, tt := range tests {
		if got := Uncovered(tt.old, tt.new); !slices.Equal(got, tt.want) {
			t.Errorf("Uncovered(%v, %v) = %v, want %v", tt.old, tt.new, got, tt.want)
		}
	}
}

func TestChangeWarnings(t *testing.T) {
	enforce := pol("enforce", 604800, "mail.example.com")
	tests := []struct {
		name     string
		old, new mtasts.Policy
		want     []string
	}{
		{"nothing published before", mtasts.Policy{}, enforce, nil},
		{"same", enforce, pol("enforce", 604800, "MAIL.example.com"), nil},
		{"mx added", enforce, pol("enforce", 604800, "mail.example.com", "mx.new.example"), nil},
		{"mx replaced under enforce", enforce, pol("enforce", 604800, "mx.new.example"), []string{
			"the policy: mx mail.example.com leaves an enforce policy: senders that cached it (max_age 604800) refuse MX hosts it does not list until 2026-12-13 15:30 UTC; keep mail.example.com in mx until then"}},
		{"mx replaced by a covering wildcard", enforce, pol("enforce", 604800, "*.example.com"), nil},
		{"mx replaced under testing", pol("testing", 604800, "mail.example.com"), pol("testing", 604800, "mx.new.example"), nil},
		{"max_age lowered", enforce, pol("enforce", 86400, "mail.example.com"), []string{
			"the policy: max_age 604800 -> 86400: senders keep the cached max_age 604800 until 2026-12-13 15:30 UTC"}},
		{"max_age raised", enforce, pol("enforce", 1209600, "mail.example.com"), nil},
		{"enforce to testing", enforce, pol("testing", 604800, "mail.example.com"), []string{
			"the policy: mode enforce -> testing: senders that cached the enforce policy keep enforcing it until 2026-12-13 15:30 UTC"}},
		{"testing to enforce", pol("testing", 604800, "mail.example.com"), enforce, nil},
		{"all at once", enforce, pol("testing", 86400, "mx.new.example"), []string{"mx mail.example.com leaves", "mode enforce -> testing", "max_age 604800 -> 86400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChangeWarnings("the policy", tt.old, tt.new, now)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d warnings %q, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
