package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/mailcow/mailcowtest"
)

// TestPolicyDirForeignDirectoryLink: in a web root another user can
// write, a symlink that user planted as a domain's directory
// (mta-sts.<domain> -> elsewhere) is not followed: that domain's policy
// is held back with an error naming the link, nothing is made at the
// link's target, and the other domains go ahead.
func TestPolicyDirForeignDirectoryLink(t *testing.T) {
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		t.Skip("a symlink owned by another user needs root to make")
	}
	cfg := gateConfig(t)
	dir := filepath.Dir(cfg)
	web := filepath.Join(dir, "web")
	removeLine(t, filepath.Join(dir, "zones", "example.net.zone"), "mta-sts ")
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte("  mx: [mail.example.com]\n"), []byte("  mx: [mail.example.com]\n  dir: ./web\n"), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(web, 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(dir, "elsewhere")
	if err := os.Mkdir(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(web, "mta-sts.example.org")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	d, caFile := startDirWeb(t, web, "example.com", "example.org", "example.net")
	r := runLife(t, lifeNow, d, "apply", "--config", cfg, "--ca-file", caFile)
	if r.code != exitError || !strings.Contains(r.stderr, "policy.dir: the policy of example.org: refusing to write "+link+": it is a symlink owned by uid 65534") {
		t.Errorf("apply: exit %d, want 1 naming the link\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := entries(t, elsewhere); len(got) != 0 {
		t.Errorf("the link's target got %v", got)
	}
	if _, err := os.Stat(filepath.Join(web, "mta-sts.example.com", ".well-known", "mta-sts.txt")); err != nil {
		t.Errorf("example.com's policy file: %v", err)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestResolverFlagChecked: a --resolver that is not HOST:PORT is a usage
// error (exit 64) before any lookup, before or after the command.
func TestResolverFlagChecked(t *testing.T) {
	cfg := quickstart(t)
	for _, args := range [][]string{
		{"check", "--resolver", "nonsense", "example.com"},
		{"--resolver", "192.0.2.53", "check", "example.com"},
		{"plan", "--config", cfg, "--resolver", "[::1]"},
		{"--resolver=:53", "domains", "--config", cfg},
		{"apply", "--config", cfg, "--resolver", "127.0.0.1:99999"},
	} {
		r := runCLI(t, nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--resolver") || !strings.Contains(r.stderr, "HOST:PORT") || r.stdout != "" {
			t.Errorf("%q: exit %d, want %d naming --resolver\nstdout: %s\nstderr: %s", args, r.code, exitUsage, r.stdout, r.stderr)
		}
	}
	if r := runCLI(t, nil, "plan", "--config", cfg, "--resolver", "127.0.0.1:1", "--no-dns-shortcut"); r.code == exitUsage {
		t.Errorf("a HOST:PORT resolver was refused: %s", r.stderr)
	}
}

// TestFlagValuesAreUsageErrors: a --concurrency below 1 and an unknown
// --log-level or --log-format are mistakes on the command line like an
// unknown --output: one line, exit 64, nothing run.
func TestFlagValuesAreUsageErrors(t *testing.T) {
	cfg := quickstart(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--config", cfg, "--concurrency", "0"}, "--concurrency 0: want 1 or more"},
		{[]string{"--concurrency", "-3", "apply", "--config", cfg}, "--concurrency -3: want 1 or more"},
		{[]string{"plan", "--config", cfg, "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"apply", "--config", cfg, "--log-format", "xml"}, `--log-format "xml"`},
	} {
		r := runCLI(t, nil, tt.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
			t.Errorf("%q: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tt.args, r.code, exitUsage, tt.want, r.stdout, r.stderr)
		}
	}
}

// TestMailcowDomainNamesNeverPaths: a domain name from mailcow's API is
// a path component under policy.dir; one that would climb out of it or
// name a subdirectory ("../../x", "a/b.example.com") is refused with the
// name quoted, and nothing is written anywhere.
func TestMailcowDomainNamesNeverPaths(t *testing.T) {
	for _, name := range []string{"../../escaped", "a/b.example.com", "..", "x.example.com/../../escaped"} {
		t.Run(name, func(t *testing.T) {
			mc, cfg := mailcowSetup(t, "policy:\n  mode: enforce\n  max_age: 86400\n  mx: [mail.example.com]\n  dir: ./web/root\n")
			mc.AddDomain(mailcowtest.Domain{Name: name, Active: true})
			dir := filepath.Dir(cfg)
			r := runCLI(t, nil, "apply", "--config", cfg)
			if r.code != exitError || !strings.Contains(r.stderr, strconv.Quote(name)) {
				t.Errorf("apply: exit %d, want %d quoting the name\n%s%s", r.code, exitError, r.stdout, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "web")); !os.IsNotExist(err) {
				t.Errorf("something was written under policy.dir: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "escaped")); !os.IsNotExist(err) {
				t.Errorf("a file was made outside policy.dir: %v", err)
			}
		})
	}
}
