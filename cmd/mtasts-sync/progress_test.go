package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/creack/pty"

	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
)

// slowZones writes a config of n zone-file zones read at 4 requests a
// second, one at a time: a run long enough to wait on the rate limit.
func slowZones(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones")
	if err := os.Mkdir(zones, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("policy:\n  mode: testing\n  max_age: 604800\n  mx: [mail.example.com]\npolicy_host: mail.example.com\npublish_gate: false\n")
	b.WriteString("providers:\n  files:\n    type: zonefile\n    directory: ./zones\n    rate_limit: 4/s\n    burst: 1\n    concurrency: 1\ndomains:\n")
	for i := range n {
		z := fmt.Sprintf("d%02d.example", i)
		fmt.Fprintf(&b, "  - %s\n", z)
		soa := fmt.Sprintf("$ORIGIN %s.\n@ 3600 IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 3600\n@ 3600 IN NS ns1.example.net.\n", z)
		if err := os.WriteFile(filepath.Join(zones, z+".zone"), []byte(soa), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString("provider: files\n")
	path := filepath.Join(dir, "mtasts-sync.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestProgressOnTerminal runs plan with stderr on a pseudo-terminal: the
// bar shows zones done of the total, requests, the rate, the wait on the
// rate limit and the time left, and leaves stdout (the plan) alone.
func TestProgressOnTerminal(t *testing.T) {
	bin := sharedBinary(t)
	cfg := slowZones(t, 8)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 160}); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd := exec.Command(bin, "plan", "--config", cfg)
	cmd.Env = append(os.Environ(), "TERM=xterm", "NO_COLOR=1")
	cmd.Stdout, cmd.Stderr = &stdout, tty
	var screen bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(&screen, ptmx) // ends with EIO once the last writer closes
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	err = cmd.Wait()
	wg.Wait()
	if err != nil {
		t.Fatalf("plan: %v\nstderr:\n%q", err, screen.String())
	}
	got := screen.String()
	for _, want := range []string{"reading zones:", "/8)", "requests", "req/s", "waiting on the rate limit", "\r"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal lacks %q:\n%q", want, got)
		}
	}
	// The time left: progressbar's [elapsed:left].
	if !strings.Contains(got, "s:") || !strings.Contains(got, "[") {
		t.Errorf("no time left shown:\n%q", got)
	}
	if !strings.Contains(stdout.String(), "Plan:") || strings.Contains(stdout.String(), "zones") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// TestNoProgressOffTerminal: with stderr not a terminal, plan prints
// nothing there unless asked with -v; --no-progress keeps a terminal quiet.
func TestNoProgressOffTerminal(t *testing.T) {
	cfg := slowZones(t, 2)
	r := runCLI(t, nil, "plan", "--config", cfg)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, nil, "plan", "--config", cfg, "-v")
	if r.code != 0 || strings.Count(r.stderr, `msg="zone read"`) != 2 || !strings.Contains(r.stderr, "done=2/2") {
		t.Errorf("-v: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "level=DEBUG") {
		t.Errorf("-v logs debug:\n%s", r.stderr)
	}
	bin := sharedBinary(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	cmd := exec.Command(bin, "plan", "--config", cfg, "--no-progress")
	cmd.Stderr = tty
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var screen bytes.Buffer
	_, err = io.Copy(&screen, ptmx)
	if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	if screen.Len() > 0 {
		t.Errorf("--no-progress drew %q", screen.String())
	}
}

func TestLogLevels(t *testing.T) {
	cfg := slowZones(t, 1)
	tests := []struct {
		args      []string
		info, dbg bool
	}{
		{nil, false, false},
		{[]string{"-v"}, true, false},
		{[]string{"-vv"}, true, true},
		{[]string{"-v", "-v"}, true, true},
		{[]string{"--log-level", "debug"}, true, true},
		{[]string{"-vv", "--log-level", "warn"}, false, false},
	}
	for _, tt := range tests {
		r := runCLI(t, nil, append([]string{"plan", "--config", cfg}, tt.args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, r.code, r.stderr)
		}
		if got := strings.Contains(r.stderr, "level=INFO"); got != tt.info {
			t.Errorf("%v: info lines %v, want %v:\n%s", tt.args, got, tt.info, r.stderr)
		}
		if got := strings.Contains(r.stderr, "level=DEBUG"); got != tt.dbg {
			t.Errorf("%v: debug lines %v, want %v:\n%s", tt.args, got, tt.dbg, r.stderr)
		}
	}
	for _, bad := range [][]string{{"--log-level", "loud"}, {"--log-format", "xml"}} {
		r := runCLI(t, nil, append([]string{"plan", "--config", cfg}, bad...)...)
		// A value not offered is a usage error, as README promises.
		if r.code != exitUsage || !strings.Contains(r.stderr, bad[0]) {
			t.Errorf("%v: exit %d, stderr %q", bad, r.code, r.stderr)
		}
	}
}

// TestJSONLogs runs plan -vv --log-format json against the Cloudflare fake
// and parses every stderr line back: the per-zone lines, each HTTP
// request, the DNS shortcut's reasons and the run summary are there, and
// the API token is not.
func TestJSONLogs(t *testing.T) {
	fake := cloudflarefake.New(resilienceToken, fakeapi.Options{})
	t.Cleanup(fake.Close)
	seedWorld(t, fake)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	text := fmt.Sprintf("policy:\n  mode: testing\n  max_age: 604800\n  mx: [mail.example.com]\npolicy_host: mail.example.com\npublish_gate: false\n"+
		"providers:\n  cf:\n    type: cloudflare\n    api_token: %s\ndomains: [%s]\nprovider: cf\n", resilienceToken, strings.Join(resilienceZones, ", "))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	// The shortcut asks a resolver that refuses: every zone falls back to
	// the API, and says why at debug level.
	args := []string{"mtasts-sync", "plan", "--config", cfg, "-vv", "--log-format", "json", "--resolver", "127.0.0.1:9"}
	code := run(context.Background(), args, env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, transport: fake.Transport()})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	msgs := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q: %v", line, err)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("line lacks %s: %q", k, line)
			}
		}
		msgs[rec["msg"].(string)] = append(msgs[rec["msg"].(string)], rec)
	}
	if n := len(msgs["zone read"]); n != len(resilienceZones) {
		t.Errorf("%d zone read lines, want %d", n, len(resilienceZones))
	}
	for _, rec := range msgs["zone read"] {
		if rec["provider"] != "cf" || rec["via"] != "provider" || !strings.HasSuffix(fmt.Sprint(rec["done"]), "/3") {
			t.Errorf("zone read: %v", rec)
		}
	}
	if len(msgs["http request"]) == 0 {
		t.Error("no http request lines")
	}
	for _, rec := range msgs["http request"] {
		if rec["method"] == nil || rec["path"] == nil || rec["status"] == nil || rec["provider"] != "cf" {
			t.Errorf("http request: %v", rec)
		}
	}
	if len(msgs["DNS shortcut not taken"]) == 0 || msgs["DNS shortcut not taken"][0]["reason"] == nil {
		t.Errorf("no shortcut reasons: %v", msgs["DNS shortcut not taken"])
	}
	if len(msgs["run done"]) != 1 || len(msgs["api use"]) != 1 {
		t.Errorf("summary lines: %v %v", msgs["run done"], msgs["api use"])
	}
	if strings.Contains(errOut.String(), resilienceToken) {
		t.Error("the API token is in the log")
	}
}
