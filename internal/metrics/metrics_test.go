package metrics

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/providers"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// roundTrip renders reg, lints it and parses it back.
func roundTrip(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if p.Metric == "mtasts_sync_policy_certificate_expiry_days" && strings.Contains(p.Text, `"days"`) {
			continue // days on purpose, beside the _timestamp_seconds form
		}
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	text, err := Text(reg)
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := Parse(text)
	if err != nil {
		t.Fatalf("the exposition does not parse back: %v\n%s", err, text)
	}
	return mfs
}

func TestCheckMetrics(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	reports := []check.Report{
		{Domain: "example.org", PolicyCertExpiry: now.Add(36 * time.Hour), Results: []check.Result{
			{Check: "mx", Verdict: check.Pass},
			{Check: "policy-host", Verdict: check.Warn},
		}},
		{Domain: "example.net", Results: []check.Result{
			{Check: "mx", Verdict: check.Pass},
			{Check: "policy-host", Verdict: check.Fail},
		}},
	}
	mfs := roundTrip(t, Check(reports, now))
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mtasts_sync_check_verdict", map[string]string{"domain": "example.org", "check": "policy-host", "verdict": "warn"}, 1},
		{"mtasts_sync_check_verdict", map[string]string{"domain": "example.org", "check": "policy-host", "verdict": "pass"}, 0},
		{"mtasts_sync_check_verdict", map[string]string{"domain": "example.net", "check": "policy-host", "verdict": "fail"}, 1},
		{"mtasts_sync_check_verdict", map[string]string{"domain": "example.net", "check": "mx", "verdict": "pass"}, 1},
		{"mtasts_sync_check_domain_verdict", map[string]string{"domain": "example.org", "verdict": "warn"}, 1},
		{"mtasts_sync_check_domain_verdict", map[string]string{"domain": "example.net", "verdict": "fail"}, 1},
		{"mtasts_sync_check_domain_verdict", map[string]string{"domain": "example.net", "verdict": "pass"}, 0},
		{"mtasts_sync_policy_certificate_expiry_days", map[string]string{"domain": "example.org"}, 1.5},
		{"mtasts_sync_policy_certificate_expiry_timestamp_seconds", map[string]string{"domain": "example.org"}, float64(now.Add(36 * time.Hour).Unix())},
		{"mtasts_sync_check_timestamp_seconds", map[string]string{}, float64(now.Unix())},
	}
	for _, tt := range tests {
		got, ok := Value(mfs, tt.name, tt.labels)
		if !ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if _, ok := Value(mfs, "mtasts_sync_policy_certificate_expiry_days", map[string]string{"domain": "example.net"}); ok {
		t.Error("a certificate expiry for a domain whose policy could not be fetched")
	}
}

func TestApplyMetrics(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	plan := reconcile.Plan{Zones: []reconcile.ZonePlan{
		{Zone: "example.org", Provider: "cf", Domains: []string{"example.org", "shop.example.org"}, Changes: []reconcile.Change{
			{Domain: "example.org", Action: reconcile.Update},
			{Domain: "example.org", Action: reconcile.Create},
			{Domain: "shop.example.org", Action: reconcile.Conflict},
			{Domain: "shop.example.org", Action: reconcile.Withheld},
			{Domain: "shop.example.org", Action: reconcile.Acknowledged},
		}},
		{Zone: "example.net", Provider: "hz", Domains: []string{"example.net"}, Err: errors.New("read failed")},
	}}
	results := []reconcile.Result{{Zone: "example.org", Provider: "cf", Applied: []reconcile.Change{
		{Domain: "example.org", Action: reconcile.Update}, {Domain: "example.org", Action: reconcile.Create},
	}}}

	// The first run succeeds everywhere but example.net, which never did.
	first := roundTrip(t, Apply(ApplyRun{
		Plan: plan, Results: results, API: map[string]providers.Stats{
			"cf":    {Requests: map[string]int{"read": 3, "write": 2}, Throttled: 1},
			"desec": {Requests: map[string]int{"read": 7}, DailyBudget: 2000},
		},
		Duration: 1500 * time.Millisecond, Now: t0,
	}, nil))
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mtasts_sync_apply_success", map[string]string{}, 1},
		{"mtasts_sync_apply_last_success_timestamp_seconds", map[string]string{}, float64(t0.Unix())},
		{"mtasts_sync_apply_duration_seconds", map[string]string{}, 1.5},
		{"mtasts_sync_apply_changes", map[string]string{"domain": "example.org", "action": "update"}, 1},
		{"mtasts_sync_apply_changes", map[string]string{"domain": "example.org", "action": "create"}, 1},
		{"mtasts_sync_apply_changes", map[string]string{"domain": "example.org", "action": "delete"}, 0},
		{"mtasts_sync_conflicts", map[string]string{"domain": "shop.example.org"}, 1},
		{"mtasts_sync_conflicts", map[string]string{"domain": "example.org"}, 0},
		{"mtasts_sync_acknowledged_conflicts", map[string]string{"domain": "shop.example.org"}, 1},
		{"mtasts_sync_withheld", map[string]string{"domain": "shop.example.org"}, 1},
		{"mtasts_sync_zone_error", map[string]string{"zone": "example.net", "provider": "hz"}, 1},
		{"mtasts_sync_zone_error", map[string]string{"zone": "example.org", "provider": "cf"}, 0},
		{"mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "example.org"}, float64(t0.Unix())},
		{"mtasts_sync_api_requests", map[string]string{"provider": "cf"}, 5},
		{"mtasts_sync_api_throttled", map[string]string{"provider": "cf"}, 1},
		{"mtasts_sync_api_requests", map[string]string{"provider": "desec"}, 7},
		{"mtasts_sync_api_daily_budget_requests", map[string]string{"provider": "desec"}, 2000},
	}
	for _, c := range checks {
		if got, ok := Value(first, c.name, c.labels); !ok || got != c.want {
			t.Errorf("first run: %s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := Value(first, "mtasts_sync_api_daily_budget_requests", map[string]string{"provider": "cf"}); ok {
		t.Error("a daily budget for Cloudflare, which has none")
	}
	if _, ok := Value(first, "mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "example.net"}); ok {
		t.Error("example.net has a last success time though it never succeeded")
	}

	// An hour later example.org's write fails, and only example.net is
	// covered otherwise: example.org keeps its time from the file, the run
	// as a whole keeps the last success.
	t1 := t0.Add(time.Hour)
	plan2 := reconcile.Plan{Zones: []reconcile.ZonePlan{
		{Zone: "example.org", Provider: "cf", Domains: []string{"example.org"}},
		{Zone: "example.net", Provider: "hz", Domains: []string{"example.net"}},
	}}
	second := roundTrip(t, Apply(ApplyRun{
		Plan: plan2, Results: []reconcile.Result{{Zone: "example.org", Provider: "cf", Err: errors.New("HTTP 500")}},
		Failed: true, Now: t1,
	}, first))
	checks = checks[:0]
	checks = append(checks, []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mtasts_sync_apply_success", map[string]string{}, 0},
		{"mtasts_sync_apply_last_run_timestamp_seconds", map[string]string{}, float64(t1.Unix())},
		{"mtasts_sync_apply_last_success_timestamp_seconds", map[string]string{}, float64(t0.Unix())},
		{"mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "example.org"}, float64(t0.Unix())},
		{"mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "example.net"}, float64(t1.Unix())},
		// Not in this run (--domain): kept as it was.
		{"mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "shop.example.org"}, float64(t0.Unix())},
		{"mtasts_sync_zone_error", map[string]string{"zone": "example.org", "provider": "cf"}, 1},
	}...)
	for _, c := range checks {
		if got, ok := Value(second, c.name, c.labels); !ok || got != c.want {
			t.Errorf("second run: %s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
}

func TestWriteFileOnlyOverwritesOurs(t *testing.T) {
	dir := t.TempDir()
	reg := Check([]check.Report{{Domain: "example.org", Results: []check.Result{{Check: "mx", Verdict: check.Pass}}}}, time.Now())

	ours := filepath.Join(dir, "mtasts.prom")
	if err := WriteFile(ours, reg); err != nil {
		t.Fatalf("new file: %v", err)
	}
	if err := WriteFile(ours, reg); err != nil {
		t.Fatalf("overwriting our own file: %v", err)
	}
	if mfs, err := ReadOurs(ours); err != nil || mfs[prefix+"check_verdict"] == nil {
		t.Errorf("ReadOurs(our file) = %v, %v", mfs, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want only the file (no temporary left)", len(entries))
	}

	for name, content := range map[string]string{
		"foreign.prom": "# TYPE node_textfile_thing gauge\nnode_textfile_thing 1\n",
		"garbage.prom": "this is not { an exposition\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(path, reg)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: WriteFile = %v, want a refusal naming the file", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%s was changed", name)
		}
	}
	if mfs, err := ReadOurs(filepath.Join(dir, "missing.prom")); mfs != nil || err != nil {
		t.Errorf("ReadOurs(missing) = %v, %v; want nothing", mfs, err)
	}
}
