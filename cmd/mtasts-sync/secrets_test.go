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

// TestProviderSettingsCheckedByLoader: provider settings are checked when
// the config loads; a value from a variable and a secret are named by their
// key, never shown.
func TestProviderSettingsCheckedByLoader(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "tsig.key")
	if err := os.WriteFile(keyFile, []byte("S3CRET not base64!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, settings string
		want           string
	}{
		{"server from a variable", "    server: ${NS_SERVER}\n    key: c2VjcmV0\n",
			`providers.ns.server: the expansion of "${NS_SERVER}" is not host:port; write e.g. 192.0.2.53:53`},
		{"server in the file", "    server: ns.example.com\n    key: c2VjcmV0\n",
			`providers.ns.server: "ns.example.com" is not host:port`},
		{"algorithm", "    server: 127.0.0.1:53\n    key_alg: ${NS_ALG}\n    key: c2VjcmV0\n",
			`providers.ns.key_alg: the expansion of "${NS_ALG}" is not a TSIG algorithm`},
		{"key from a file", "    server: 127.0.0.1:53\n    key_file: " + keyFile + "\n",
			`providers.ns.key: the secret is not valid base64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NS_SERVER", "S3CRET-host")
			t.Setenv("NS_ALG", "S3CRET-alg")
			cfg := filepath.Join(t.TempDir(), "mtasts-sync.yaml")
			body := "policy:\n  mode: testing\n  max_age: 604800\npolicy_host: mail.example.com\ndomains: [example.com]\nprovider: ns\n" +
				"providers:\n  ns:\n    type: rfc2136\n    key_name: mtasts.\n" + tc.settings
			if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t, nil, "plan", "--config", cfg)
			if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
			if strings.Contains(r.stderr, "S3CRET") {
				t.Errorf("a value from a variable or a secret file is shown: %q", r.stderr)
			}
		})
	}
}
