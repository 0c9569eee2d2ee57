package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// TestCheckOnATerminal: on a real terminal check colours its verdicts,
// in the words plain output uses, with the columns still aligned; with
// NO_COLOR it does not colour at all.
func TestCheckOnATerminal(t *testing.T) {
	enforce := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}}
	web := startPolicyWeb(t, "example.org")
	web.serve("example.org", enforce.Render())
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
		"example.org. 300 IN MX 10 mail.example.com.",
		`_mta-sts.example.org. 300 IN TXT "v=STSv1; id=` + enforce.ID() + `"`,
	}})
	onTTY := func(getenv func(string) string) string {
		master, slave, err := pty.Open()
		if err != nil {
			t.Fatalf("no pseudo-terminal: %v", err)
		}
		defer master.Close()
		var errOut bytes.Buffer
		run(context.Background(), []string{"mtasts-sync", "check", "--resolver", dnsSrv.Addr, "--ca-file", web.caFile, "example.org"},
			env{stdout: slave, stderr: &errOut, getenv: getenv, dialer: web.dialer("example.org")})
		slave.Close()
		out, _ := io.ReadAll(master) // ends with EIO once the terminal side is closed
		return strings.ReplaceAll(string(out), "\r\n", "\n")
	}

	coloured := onTTY(func(string) string { return "" })
	for _, want := range []string{"\x1b[32mpass\x1b[0m", "\x1b[33mwarn\x1b[0m"} {
		if !strings.Contains(coloured, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, coloured)
		}
	}
	plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(coloured, "")
	lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	verdictCol := strings.Index(lines[0], "VERDICT")
	reasonCol := strings.Index(lines[0], "REASON")
	for _, l := range lines[1:] {
		v := regexp.MustCompile(`\b(pass|warn|fail)\b`).FindStringIndex(l)
		if v == nil || v[0] != verdictCol || len(l) < reasonCol || l[reasonCol-2:reasonCol] != "  " {
			t.Errorf("misaligned row under %q:\n%s", lines[0], plain)
			break
		}
	}
	noColour := onTTY(func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	})
	if strings.Contains(noColour, "\x1b[") || noColour != plain {
		t.Errorf("NO_COLOR on a terminal:\n%q\nwant the coloured output without colour:\n%q", noColour, plain)
	}
}
