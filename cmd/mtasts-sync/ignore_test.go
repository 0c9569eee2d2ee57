package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// appendConfig adds text at the end of the config file.
func appendConfig(t *testing.T, cfg, text string) {
	t.Helper()
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestIgnoreAcknowledgesAConflict: the quickstart's A record at
// mta-sts.example.net fails every apply and breaks --quiet until an
// ignore: entry acknowledges it; then it is shown as acknowledged, cron
// stays silent and apply exits 0. An entry that stops matching is
// reported even under --quiet.
func TestIgnoreAcknowledgesAConflict(t *testing.T) {
	cfg := quickstart(t)
	r := runCLI(t, nil, "apply", "--config", cfg)
	if r.code != exitError || !strings.Contains(r.stdout, "! mta-sts.example.net.") {
		t.Fatalf("apply with a conflict: exit %d, want 1 and the conflict\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "apply", "--config", cfg, "--quiet"); r.code != exitError || r.stdout == "" {
		t.Fatalf("quiet apply with a conflict: exit %d, printed %q; want 1 and the plan", r.code, r.stdout)
	}

	appendConfig(t, cfg, "ignore:\n  - name: mta-sts.example.net\n    type: A\n    reason: the old web server answers here until the move\n")
	r = runCLI(t, nil, "plan", "--config", cfg, "--detailed-exitcode")
	if r.code != 0 {
		t.Errorf("plan --detailed-exitcode with only an acknowledged conflict: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"= mta-sts.example.net. A 192.0.2.7",
		"acknowledged: the old web server answers here until the move",
		"0 conflicts. 1 withheld. 1 acknowledged.",
	} {
		if !strings.Contains(squash(r.stdout), want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := runCLI(t, nil, "apply", "--config", cfg, "--quiet"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("quiet apply with only an acknowledged conflict: exit %d, printed %q %q; want 0 and silence", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, "plan", "--config", cfg, "--output", "json")
	if !strings.Contains(r.stdout, `"action": "acknowledged"`) || !strings.Contains(r.stdout, `"acknowledged": 1`) {
		t.Errorf("plan JSON lacks the acknowledged change or count:\n%s", r.stdout)
	}

	// The A record goes away: the entry now matches nothing.
	zone := filepath.Join(filepath.Dir(cfg), "zones", "example.net.zone")
	b, err := os.ReadFile(zone)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, "192.0.2.7") {
			keep = append(keep, l)
		}
	}
	if err := os.WriteFile(zone, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "apply", "--config", cfg, "--quiet")
	if r.code != 0 || !strings.Contains(r.stdout, "ignore: mta-sts.example.net A matches no conflict any more") {
		t.Errorf("quiet apply with a stale ignore: entry: exit %d, want 0 and a warning naming it\n%s%s", r.code, r.stdout, r.stderr)
	}
}
