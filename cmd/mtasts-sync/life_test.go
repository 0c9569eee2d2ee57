package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// lifeNow is the injected clock of the domain-life tests: nothing sleeps.
var lifeNow = time.Date(2026, 11, 22, 15, 30, 0, 0, time.UTC)

// runAt runs the program in-process with the clock at now.
func runAt(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	clock := func() time.Time { return now }
	code := run(context.Background(), append([]string{"mtasts-sync"}, args...), env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, now: clock})
	return result{code, out.String(), errOut.String()}
}

// planWarnings runs plan --output json and returns its warnings.
func planWarnings(t *testing.T, now time.Time, cfg string) []string {
	t.Helper()
	r := runAt(t, now, "plan", "--config", cfg, "--output", "json")
	if r.code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var doc struct{ Warnings []string }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, r.stdout)
	}
	return doc.Warnings
}

func hasWarning(ws []string, want string) bool {
	for _, w := range ws {
		if strings.Contains(w, want) {
			return true
		}
	}
	return false
}

// TestPolicyChangeWarningsPolicyFile: the previous policy is the one in
// policy.file before it is written; an MX migration under enforce, a lower
// max_age and enforce -> testing each say until when senders keep the old.
func TestPolicyChangeWarningsPolicyFile(t *testing.T) {
	cfg := quickstart(t)
	dir := filepath.Dir(cfg)
	policyFile := filepath.Join(dir, "mta-sts.txt")
	old := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 1209600, MX: []string{"mail.example.com"}}
	if err := os.WriteFile(policyFile, old.Render(), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	write := func(policy string) {
		t.Helper()
		const block = "policy:\n  mode: testing\n  max_age: 604800\n  mx: [mail.example.com]\n"
		if !strings.Contains(string(text), block) {
			t.Fatalf("quickstart config has no policy block %q", block)
		}
		if err := os.WriteFile(cfg, []byte(strings.Replace(string(text), block, policy, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, policy string
		want, not    []string
	}{
		{"mx migration", "policy:\n  mode: enforce\n  max_age: 1209600\n  mx: [mx.new-provider.example]\n  file: mta-sts.txt\n",
			[]string{"policy.file " + policyFile + ": mx mail.example.com leaves an enforce policy: senders that cached it (max_age 1209600) refuse MX hosts it does not list until 2026-12-06 15:30 UTC; keep mail.example.com in mx until then"},
			[]string{"max_age 1209600 ->"}},
		{"new mx beside the old", "policy:\n  mode: enforce\n  max_age: 1209600\n  mx: [mail.example.com, mx.new-provider.example]\n  file: mta-sts.txt\n",
			nil, []string{"leaves an enforce policy", "max_age"}},
		{"covered by a wildcard", "policy:\n  mode: enforce\n  max_age: 1209600\n  mx: [\"*.example.com\"]\n  file: mta-sts.txt\n",
			nil, []string{"leaves an enforce policy"}},
		{"max_age lowered", "policy:\n  mode: enforce\n  max_age: 604800\n  mx: [mail.example.com]\n  file: mta-sts.txt\n",
			[]string{"max_age 1209600 -> 604800: senders keep the cached max_age 1209600 until 2026-12-06 15:30 UTC"}, nil},
		{"enforce to testing", "policy:\n  mode: testing\n  max_age: 1209600\n  mx: [mail.example.com]\n  file: mta-sts.txt\n",
			[]string{"mode enforce -> testing: senders that cached the enforce policy keep enforcing it until 2026-12-06 15:30 UTC"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(tt.policy)
			ws := planWarnings(t, lifeNow, cfg)
			for _, w := range tt.want {
				if !hasWarning(ws, w) {
					t.Errorf("warnings lack %q: %q", w, ws)
				}
			}
			for _, w := range tt.not {
				if hasWarning(ws, w) {
					t.Errorf("warnings hold %q: %q", w, ws)
				}
			}
			// The text output carries the same warnings.
			r := runAt(t, lifeNow, "plan", "--config", cfg)
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, "warning: ") || !strings.Contains(r.stdout, w) {
					t.Errorf("text plan lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestPolicyChangeWarningsMailcow: with manage_policy the previous policy
// is the one mailcow serves for each domain.
func TestPolicyChangeWarningsMailcow(t *testing.T) {
	mc, cfg := mailcowSetup(t, "  manage_policy: true\npolicy:\n  mode: testing\n  max_age: 86400\n  mx: [mx.new-provider.example]\n")
	mc.SetSTS(stsEntry("example.com", mtasts.ModeEnforce, 604800))
	ws := planWarnings(t, lifeNow, cfg)
	for _, w := range []string{
		"mailcow's policy of example.com: mx mail.example.com leaves an enforce policy: senders that cached it (max_age 604800) refuse MX hosts it does not list until 2026-11-29 15:30 UTC",
		"mailcow's policy of example.com: mode enforce -> testing: senders that cached the enforce policy keep enforcing it until 2026-11-29 15:30 UTC",
		"mailcow's policy of example.com: max_age 604800 -> 86400: senders keep the cached max_age 604800 until 2026-11-29 15:30 UTC",
	} {
		if !hasWarning(ws, w) {
			t.Errorf("warnings lack %q: %q", w, ws)
		}
	}
	if hasWarning(ws, "policy of example.org") {
		t.Errorf("a domain mailcow served no policy for is warned about: %q", ws)
	}
}
