package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// lifeNow is the injected clock of the domain-life tests: nothing sleeps.
var lifeNow = time.Date(2026, 11, 22, 15, 30, 0, 0, time.UTC)

// runAt runs the program in-process with the clock at now.
func runAt(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	return runLife(t, now, nil, args...)
}

// runLife runs the program in-process with the clock at now, connecting
// through d (nil: the network).
func runLife(t *testing.T, now time.Time, d check.Dialer, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	clock := func() time.Time { return now }
	code := run(context.Background(), append([]string{"mtasts-sync"}, args...), env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, dialer: d, now: clock})
	return result{code, out.String(), errOut.String()}
}

// startDirWeb is a web server with one document root per host name under
// dir, as policy.dir expects (nginx: root <dir>/$host), with certificates
// for mta-sts.<d> of every d in domains.
func startDirWeb(t *testing.T, dir string, domains ...string) (checktest.Dialer, string) {
	t.Helper()
	ca := checktest.NewCA(t)
	certs := map[string]*tls.Certificate{}
	routes := map[string]string{}
	for _, d := range domains {
		certs["mta-sts."+d] = ca.Issue(t, []string{"mta-sts." + d}, lifeNow.Add(-time.Hour), time.Now().Add(90*24*time.Hour))
	}
	fallback := ca.Issue(t, []string{"mail.example.com"}, lifeNow.Add(-time.Hour), time.Now().Add(90*24*time.Hour))
	addr := checktest.StartHTTPS(t, &tls.Config{GetCertificate: checktest.CertsBySNI(certs, fallback)},
		http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			host := strings.ToLower(strings.Split(r.Host, ":")[0])
			http.ServeFile(rw, r, filepath.Join(dir, host, filepath.FromSlash(r.URL.Path)))
		}))
	for _, d := range domains {
		routes["mta-sts."+d+":443"] = addr
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return checktest.Dialer{Routes: routes}, caFile
}

// TestPolicyDir: with policy.dir each domain's policy is its own file,
// where a web server with a document root per host finds it; the gate
// fetches it from there before the id goes out, and a rerun writes nothing.
func TestPolicyDir(t *testing.T) {
	cfg := gateConfig(t)
	dir := filepath.Dir(cfg)
	web := filepath.Join(dir, "web")
	removeLine(t, filepath.Join(dir, "zones", "example.net.zone"), "mta-sts ")
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte("  mx: [mail.example.com]\n"), []byte("  mx: [mail.example.com]\n  dir: ./web\n"), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d, caFile := startDirWeb(t, web, "example.com", "example.org", "example.net")
	r := runLife(t, lifeNow, d, "plan", "--config", cfg, "--ca-file", caFile)
	for _, dom := range []string{"example.com", "example.org", "example.net"} {
		if want := "+ policy-file " + filepath.Join(web, "mta-sts."+dom, ".well-known", "mta-sts.txt"); !strings.Contains(squash(r.stdout), squash(want)) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runLife(t, lifeNow, d, "apply", "--config", cfg, "--ca-file", caFile)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, dom := range []string{"example.com", "example.org", "example.net"} {
		got, err := os.ReadFile(filepath.Join(web, "mta-sts."+dom, ".well-known", "mta-sts.txt"))
		if err != nil || !bytes.Equal(got, quickstartPolicy.Render()) {
			t.Errorf("policy file of %s: %q, %v", dom, got, err)
		}
	}
	if !strings.Contains(squash(r.stdout), squash(`+ _mta-sts.example.net. TXT "v=STSv1; id=`+quickstartPolicy.ID()+`"`)) || strings.Contains(r.stdout, "withheld") {
		t.Errorf("the ids did not go out once the files were served:\n%s", r.stdout)
	}
	r = runLife(t, lifeNow, d, "apply", "--config", cfg, "--ca-file", caFile, "--quiet")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("rerun: exit %d, printed %q", r.code, r.stdout)
	}
	r = runLife(t, lifeNow, d, "policy", "--config", cfg, "--write")
	if r.code != exitError || !strings.Contains(r.stderr, "policy.dir holds one file per domain") {
		t.Errorf("policy --write with policy.dir: exit %d, %s", r.code, r.stderr)
	}
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

// TestPolicyDirWriteFailureHoldsOneDomain: a domain whose file cannot be
// written keeps its old id; the others go ahead, and apply exits 1.
func TestPolicyDirWriteFailureHoldsOneDomain(t *testing.T) {
	cfg := gateConfig(t)
	dir := filepath.Dir(cfg)
	web := filepath.Join(dir, "web")
	removeLine(t, filepath.Join(dir, "zones", "example.net.zone"), "mta-sts ")
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte("  mx: [mail.example.com]\n"), []byte("  mx: [mail.example.com]\n  dir: ./web\n"), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// A file where example.org's directory must go.
	if err := os.MkdirAll(web, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(web, "mta-sts.example.org"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, caFile := startDirWeb(t, web, "example.com", "example.org", "example.net")
	r := runLife(t, lifeNow, d, "apply", "--config", cfg, "--ca-file", caFile)
	if r.code != exitError || !strings.Contains(r.stderr, "policy.dir: the policy of example.org") {
		t.Errorf("apply: exit %d, want 1 naming example.org\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := squash(r.stdout)
	if !strings.Contains(out, squash(`? _mta-sts.example.org. TXT "v=STSv1; id=`+quickstartPolicy.ID()+`" withheld its policy file`)) {
		t.Errorf("example.org's id not held back:\n%s", r.stdout)
	}
	if !strings.Contains(out, squash(`+ _mta-sts.example.net. TXT "v=STSv1; id=`+quickstartPolicy.ID()+`"`)) {
		t.Errorf("example.net's id did not go out:\n%s", r.stdout)
	}
}
