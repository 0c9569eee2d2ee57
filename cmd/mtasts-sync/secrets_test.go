package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
)

// TestTagFromVariableNotPrinted: a token expanded into mailcow.tags by
// mistake is refused by the config loader, before anything is sent, with a
// message naming the key and the variable but not the token.
func TestTagFromVariableNotPrinted(t *testing.T) {
	const token = "tok3n-Zq81-9fA2"
	mc, cfg := mailcowSetup(t, "  tags: [\"${MAILCOW_TAGS}\"]\n")
	t.Setenv("MAILCOW_TAGS", token+",x")
	for _, cmd := range []string{"domains", "plan", "apply"} {
		r := runCLI(t, nil, cmd, "--config", cfg)
		if r.code != exitError || !strings.Contains(r.stderr, `mailcow.tags[0]: the expansion of "${MAILCOW_TAGS}" contains a comma`) {
			t.Errorf("%s: exit %d, stderr %q; want 1 naming mailcow.tags[0] and ${MAILCOW_TAGS}", cmd, r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, token) {
			t.Errorf("%s printed the token:\n%s%s", cmd, r.stdout, r.stderr)
		}
	}
	if calls := mc.Calls(); len(calls) != 0 {
		t.Errorf("mailcow was asked %d time(s) with a config that does not load", len(calls))
	}
}

// TestShortAPIKeyLeavesErrorsWhole: with the API key "mail", an error about
// the host mail.example.com reads as it is; nothing in it is replaced.
func TestShortAPIKeyLeavesErrorsWhole(t *testing.T) {
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{}) // knows no name
	dialer := &net.Dialer{Resolver: &net.Resolver{PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dnsSrv.Addr)
		}}}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "zones"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mtasts-sync.yaml")
	body := "policy_host: mail.example.com\nprovider: files\nproviders:\n  files:\n    type: zonefile\n    directory: ./zones\n" +
		"mailcow:\n  url: https://mail.example.com\n  api_key: ${MAILCOW_API_KEY}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAILCOW_API_KEY", "mail")
	r := runWith(t, dialer, "domains", "--config", cfg)
	if r.code != exitError || !strings.Contains(r.stderr, "lookup mail.example.com") {
		t.Errorf("exit %d, stderr %q; want 1 and the failed lookup of mail.example.com", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "redacted") || strings.Contains(r.stderr, "not shown") {
		t.Errorf("an error without the key was scrubbed: %q", r.stderr)
	}
}
