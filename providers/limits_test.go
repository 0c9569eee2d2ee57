package providers

import (
	"context"
	"testing"
	"time"
)

// TestDefaultLimitsStayUnderServiceLimits: in any window a service counts
// in, the default bucket (a full burst plus the refill over the window)
// stays under the service's published limit.
func TestDefaultLimitsStayUnderServiceLimits(t *testing.T) {
	tests := []struct {
		typ    string
		window time.Duration
		limit  float64
	}{
		{"cloudflare", 5 * time.Minute, 1200},
		{"hetzner", time.Hour, 3600},
		{"route53", time.Second, 10 + 50}, // 10/s refill into a bucket of 50
		{"route53", time.Minute, 10*60 + 50},
		{"desec", time.Minute, 50}, // reads: 50/min per user
		{"desec", time.Second, 10},
	}
	for _, tt := range tests {
		l := DefaultLimits(tt.typ).merged(tt.typ)
		if most := float64(l.Burst) + l.Rate*tt.window.Seconds(); most >= tt.limit {
			t.Errorf("%s: up to %.0f requests in %s, the service allows %.0f", tt.typ, most, tt.window, tt.limit)
		}
	}
	if l := DefaultLimits("route53"); l.Rate != 10 || l.ChangeRate <= 0 || l.ChangeRate >= l.Rate {
		t.Errorf("route53 defaults %+v: want 10 requests/s and a lower change rate of its own", l)
	}
	if l := DefaultLimits("desec"); l.DailyBudget != 2000 {
		t.Errorf("desec daily budget = %d, want 2000", l.DailyBudget)
	}
}

// TestChangesHaveABudgetOfTheirOwn: with a change rate set, a second write
// waits for it even though the request rate has room, and reads do not.
func TestChangesHaveABudgetOfTheirOwn(t *testing.T) {
	p, err := New("aws", "route53", &memClient{}, Options{Limits: Limits{Rate: 1000, Burst: 1000, ChangeRate: 0.01}})
	if err != nil {
		t.Fatal(err)
	}
	noop := func(context.Context) error { return nil }
	if err := p.guard(t.Context(), call{op: "append", records: 1}, "adding", "example.com", noop); err != nil {
		t.Fatalf("first change: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := p.guard(ctx, call{op: "delete", records: 1}, "deleting", "example.com", noop); err == nil {
		t.Error("a second change went out at once, over a change rate of one per 100 s")
	}
	if err := p.guard(ctx, call{op: "read"}, "reading", "example.com", noop); err != nil {
		t.Errorf("a read waited for the change budget: %v", err)
	}
	if st := p.Stats(); st.Requests["write"] != 3 || st.Requests["read"] != 1 {
		t.Errorf("requests = %v, want write 3 (the append: lookup, read, change; the refused delete none) and read 1", st.Requests)
	}
}

// TestBudgetUsed: the share of a daily budget is reported in percent.
func TestBudgetUsed(t *testing.T) {
	s := Stats{Requests: map[string]int{"read": 30, "write": 20}, DailyBudget: 2000}
	if got := s.BudgetUsed(); got != 2.5 {
		t.Errorf("BudgetUsed() = %v, want 2.5", got)
	}
	if got := (Stats{Requests: map[string]int{"read": 5}}).BudgetUsed(); got != 0 {
		t.Errorf("BudgetUsed() without a budget = %v, want 0", got)
	}
}
