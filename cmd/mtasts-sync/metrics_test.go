package main

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/metrics"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := metrics.Parse([]byte(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	return mfs
}

// TestCheckPrometheus: check --output prometheus prints the exposition,
// --textfile writes it to a file of ours and refuses someone else's.
func TestCheckPrometheus(t *testing.T) {
	enforce := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}}
	web := startPolicyWeb(t, "example.org")
	web.serve("example.org", enforce.Render())
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
		"example.org. 300 IN MX 10 mail.example.com.",
		`_mta-sts.example.org. 300 IN TXT "v=STSv1; id=` + enforce.ID() + `"`,
		"example.net. 300 IN MX 10 mail.example.com.",
	}})
	d := web.dialer("example.org")
	args := []string{"check", "--resolver", dnsSrv.Addr, "--ca-file", web.caFile, "example.org", "example.net"}
	r := runWith(t, d, append(args, "--output", "prometheus")...)
	if r.code != exitError {
		t.Errorf("exit %d, want 1 (example.net fails)\n%s", r.code, r.stderr)
	}
	mfs := parseMetrics(t, r.stdout)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mtasts_sync_check_verdict", map[string]string{"domain": "example.org", "check": "policy-host", "verdict": "pass"}, 1},
		{"mtasts_sync_check_verdict", map[string]string{"domain": "example.net", "check": "sts-record", "verdict": "fail"}, 1},
		{"mtasts_sync_check_domain_verdict", map[string]string{"domain": "example.net", "verdict": "fail"}, 1},
		{"mtasts_sync_check_domain_verdict", map[string]string{"domain": "example.org", "verdict": "warn"}, 1}, // no TLSRPT record
	} {
		if got, ok := metrics.Value(mfs, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// startPolicyWeb issues 90-day certificates.
	if days, ok := metrics.Value(mfs, "mtasts_sync_policy_certificate_expiry_days", map[string]string{"domain": "example.org"}); !ok || math.Abs(days-90) > 0.1 {
		t.Errorf("expiry days = %v (present %v), want about 90", days, ok)
	}

	file := filepath.Join(t.TempDir(), "mtasts-sync.prom")
	r = runWith(t, d, append(args, "--textfile", file)...)
	if !strings.Contains(r.stdout, "DOMAIN") {
		t.Errorf("--textfile replaced the table on stdout:\n%s", r.stdout)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := metrics.Value(parseMetrics(t, string(b)), "mtasts_sync_check_domain_verdict", map[string]string{"domain": "example.net", "verdict": "fail"}); !ok || got != 1 {
		t.Errorf("textfile: example.net fail = %v (present %v)", got, ok)
	}

	foreign := filepath.Join(t.TempDir(), "node.prom")
	if err := os.WriteFile(foreign, []byte("node_thing 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runWith(t, d, append(args, "--textfile", foreign)...)
	if r.code != exitError || !strings.Contains(r.stderr, "not mtasts-sync's (node_thing)") {
		t.Errorf("--textfile onto another exporter's file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestApplyMetricsFile: apply --metrics-file records the run; a zone that
// fails later keeps its domain's last success time from the file.
func TestApplyMetricsFile(t *testing.T) {
	cfg := quickstart(t)
	file := filepath.Join(t.TempDir(), "apply.prom")
	r := runCLI(t, nil, "apply", "--config", cfg, "--metrics-file", file)
	if r.code != exitError { // the quickstart's conflict
		t.Fatalf("first apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mfs := parseMetrics(t, string(b))
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mtasts_sync_apply_success", map[string]string{}, 1}, // a conflict is not a failed run
		{"mtasts_sync_conflicts", map[string]string{"domain": "example.net"}, 1},
		{"mtasts_sync_withheld", map[string]string{"domain": "example.net"}, 1},
		{"mtasts_sync_apply_changes", map[string]string{"domain": "example.org", "action": "update"}, 1},
		{"mtasts_sync_apply_changes", map[string]string{"domain": "example.com", "action": "create"}, 0},
		{"mtasts_sync_zone_error", map[string]string{"zone": "example.org", "provider": "files"}, 0},
	} {
		if got, ok := metrics.Value(mfs, c.name, c.labels); !ok || got != c.want {
			t.Errorf("first run: %s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}

	// Pretend example.org last succeeded long ago, then break its zone.
	old := regexp.MustCompile(`(?m)^(mtasts_sync_domain_last_success_timestamp_seconds\{domain="example.org"\}) .*$`)
	if !old.Match(b) {
		t.Fatalf("no last success time for example.org:\n%s", b)
	}
	if err := os.WriteFile(file, old.ReplaceAll(b, []byte("${1} 1000")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "zones", "example.org.zone"), []byte("this is not a zone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "apply", "--config", cfg, "--metrics-file", file)
	if r.code != exitError {
		t.Fatalf("apply with a broken zone: exit %d", r.code)
	}
	b, _ = os.ReadFile(file)
	mfs = parseMetrics(t, string(b))
	if v, _ := metrics.Value(mfs, "mtasts_sync_apply_success", map[string]string{}); v != 0 {
		t.Errorf("apply_success = %v after a failed zone, want 0", v)
	}
	if v, ok := metrics.Value(mfs, "mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "example.org"}); !ok || v != 1000 {
		t.Errorf("example.org last success = %v (present %v), want the 1000 kept from the file", v, ok)
	}
	if v, _ := metrics.Value(mfs, "mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "example.com"}); v < 1e9 {
		t.Errorf("example.com last success = %v, want this run's time", v)
	}
	if v, _ := metrics.Value(mfs, "mtasts_sync_zone_error", map[string]string{"zone": "example.org", "provider": "files"}); v != 1 {
		t.Errorf("zone_error{example.org} = %v, want 1", v)
	}
}

// TestSavedPlanRefusedIsAFailedRun: a saved plan that apply refuses (here,
// applied already) is a failed run for monitoring, as a plan that cannot be
// made is for a plain apply; the previous success time stays.
func TestSavedPlanRefusedIsAFailedRun(t *testing.T) {
	cfg := quickstart(t)
	plan := savedPlan(t, cfg)
	file := filepath.Join(t.TempDir(), "apply.prom")
	if r := runCLI(t, nil, "apply", "--metrics-file", file, plan); r.code != exitError { // the quickstart's conflict
		t.Fatalf("first apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	first, ok := metrics.Value(parseMetrics(t, string(b)), "mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "example.org"})
	if !ok || first < 1e9 {
		t.Fatalf("first run: example.org last success = %v (present %v)\n%s", first, ok, b)
	}
	r := runCLI(t, nil, "apply", "--metrics-file", file, plan)
	if r.code != exitError || !strings.Contains(r.stderr, "applied already") {
		t.Fatalf("second apply: exit %d\n%s", r.code, r.stderr)
	}
	b, _ = os.ReadFile(file)
	mfs := parseMetrics(t, string(b))
	if v, ok := metrics.Value(mfs, "mtasts_sync_apply_success", map[string]string{}); !ok || v != 0 {
		t.Errorf("apply_success = %v (present %v) after a refused saved plan, want 0\n%s", v, ok, b)
	}
	if v, _ := metrics.Value(mfs, "mtasts_sync_domain_last_success_timestamp_seconds", map[string]string{"domain": "example.org"}); v != first {
		t.Errorf("example.org last success = %v, want %v kept from the first run", v, first)
	}
}
