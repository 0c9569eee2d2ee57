package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/check"
)

// TestOthersTextEscapedOnStderr: mailcow's error message (HTTP 200 with
// {"type":"error"}) holding terminal escape sequences reaches stderr
// escaped, so it cannot clear the screen or retitle the window.
func TestOthersTextEscapedOnStderr(t *testing.T) {
	mc, cfg := mailcowSetup(t, "policy:\n  mode: enforce\n  max_age: 86400\n  file: ./mta-sts.txt\n")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":"error","msg":"\u001b]0;owned\u0007\u001b[2Jaccess denied"}`))
	}))
	t.Cleanup(evil.Close)
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(text), mc.URL(), evil.URL, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "plan", "--config", cfg)
	if r.code != exitError {
		t.Errorf("exit %d, want %d\n%s", r.code, exitError, r.stderr)
	}
	if strings.ContainsAny(r.stderr, "\x1b\x07") {
		t.Errorf("stderr holds raw control characters: %q", r.stderr)
	}
	if want := `mailcow answered with an error: \x1b]0;owned\x07\x1b[2Jaccess denied`; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}

// TestCheckTableEscapesReasons: a reason quoting a server's text (a
// policy body, an HTTP status line, a TXT record) is one escaped line in
// the check table, and the verdict colours are still ours.
func TestCheckTableEscapesReasons(t *testing.T) {
	reports := []check.Report{{Domain: "example.com", Results: []check.Result{
		{Check: "policy", Verdict: check.Fail, Reason: "server said \x1b[32mPASS\x1b[0m\nexample.com  policy  pass  forged"},
	}}}
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := writeCheckTable(&b, reports, color); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if lines := strings.Count(out, "\n"); lines != 2 {
			t.Errorf("color=%v: %d lines, want the header and one row:\n%s", color, lines, out)
		}
		if strings.Contains(out, "\x1b[32mPASS") {
			t.Errorf("color=%v: the server's colour code is raw: %q", color, out)
		}
		if want := `server said \x1b[32mPASS\x1b[0m\x0aexample.com`; !strings.Contains(out, want) {
			t.Errorf("color=%v: output lacks %q:\n%q", color, want, out)
		}
	}
}

// TestShowEscapesPlanFile: a saved plan is a file that may come from
// elsewhere; show prints its head and its warnings escaped.
func TestShowEscapesPlanFile(t *testing.T) {
	plan := savedPlan(t, quickstart(t))
	data, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["tool_version"] = "1.0\x1b]0;owned\x07"
	doc["warnings"] = []string{"look \x1b[2J here"}
	data, err = json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plan, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "show", plan)
	if r.code != 0 {
		t.Fatalf("show: exit %d\n%s", r.code, r.stderr)
	}
	if strings.ContainsAny(r.stdout, "\x1b\x07") {
		t.Errorf("show printed raw control characters:\n%q", r.stdout)
	}
	for _, want := range []string{`mtasts-sync 1.0\x1b]0;owned\x07 from`, `look \x1b[2J here`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestDomainsEscapesProviderText: a provider's error message (here
// Cloudflare's, answering the zone lookup) reaches the domains table
// escaped.
func TestDomainsEscapesProviderText(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	text := "policy:\n  mode: testing\n  max_age: 86400\n  mx: [mail.example.com]\npolicy_host: mail.example.com\n" +
		"provider: cf\ndomains: [example.com]\nproviders:\n  cf:\n    type: cloudflare\n    api_token: tok\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	evil := roundTrip(func(r *http.Request) (*http.Response, error) {
		body := `{"success":false,"errors":[{"code":9109,"message":"\u001b]0;owned\u0007\u001b[2Jinvalid token"}],"messages":[],"result":null}`
		return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"mtasts-sync", "domains", "--config", cfg},
		env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, transport: evil})
	all := out.String() + errOut.String()
	if strings.ContainsAny(all, "\x1b\x07") {
		t.Errorf("exit %d; raw control characters in the output:\n%q", code, all)
	}
	if !strings.Contains(all, `\x1b]0;owned\x07\x1b[2Jinvalid token`) {
		t.Errorf("exit %d; the provider's message is not shown escaped:\n%s", code, all)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
