package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi"
	"github.com/mtasts-sync/mtasts-sync/internal/fakeapi/cloudflarefake"
)

// buildBinary builds the program once per test into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mtasts-sync")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tunnelToFake serves api.cloudflare.com with a certificate from a test CA
// in front of fake, behind a loopback CONNECT proxy: the built binary,
// whose Cloudflare base URL is fixed, reaches the fake through HTTPS_PROXY
// and trusts it through SSL_CERT_FILE. It returns those two values.
func tunnelToFake(t *testing.T, fake *cloudflarefake.Server) (proxyURL, caFile string) {
	t.Helper()
	u, _ := url.Parse(fake.URL())
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // requests cut short by the signal
	front := httptest.NewUnstartedServer(rp)
	ca := checktest.NewCA(t)
	front.TLS = &tls.Config{Certificates: []tls.Certificate{*ca.Issue(t, []string{"api.cloudflare.com"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))}}
	front.Config.ErrorLog = log.New(io.Discard, "", 0)
	front.StartTLS()
	t.Cleanup(front.Close)
	frontAddr := strings.TrimPrefix(front.URL, "https://")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go tunnel(c, frontAddr)
		}
	}()
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return "http://" + ln.Addr().String(), caFile
}

func tunnel(c net.Conn, to string) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect || req.Host != "api.cloudflare.com:443" {
		_, _ = io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

const signalZones = 6

func signalConfig(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `policy:
  mode: testing
  max_age: 604800
  mx: [mail.example.com]
policy_host: mail.example.com
tlsrpt:
  rua: [mailto:tls-reports@example.com]
layout: direct
ttl: 3600
publish_gate: false
providers:
  cf:
    type: cloudflare
    api_token: %s
    rate_limit: 1000/s
    burst: 1000
    # one zone at a time: at most one request in flight when the signal comes
    concurrency: 1
domains:
`, resilienceToken)
	for i := range signalZones {
		fmt.Fprintf(&b, "  - sig%d.example\n", i)
	}
	b.WriteString("zones:\n")
	for i := range signalZones {
		fmt.Fprintf(&b, "  sig%d.example: cf\n", i)
	}
	path := filepath.Join(t.TempDir(), "mtasts-sync.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// binaryEnv is a clean environment that reaches the fake only through
// the proxy and trusts only the test CA.
func binaryEnv(proxyURL, caFile, caDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "MTASTS_SYNC_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HTTPS_PROXY="+proxyURL, "SSL_CERT_FILE="+caFile, "SSL_CERT_DIR="+caDir)
}

func TestInterruptedApply(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it against a slow fake")
	}
	bin := buildBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			fake := cloudflarefake.New(resilienceToken, fakeapi.Options{Latency: 300 * time.Millisecond})
			t.Cleanup(fake.Close)
			before := map[string][]string{}
			for i := range signalZones {
				z := fmt.Sprintf("sig%d.example", i)
				if err := fake.Seed(z, "www."+z+". 300 IN A 192.0.2.1", z+`. 300 IN TXT "v=spf1 -all"`); err != nil {
					t.Fatal(err)
				}
				before[z] = fake.Dump(z)
			}
			proxyURL, caFile := tunnelToFake(t, fake)
			cfg := signalConfig(t)
			env := binaryEnv(proxyURL, caFile, t.TempDir())
			mw := fake.Middleware()

			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, "apply", "--config", cfg, "--no-dns-shortcut")
			cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()

			// Mid-apply: some writes done, most still to come.
			deadline := time.Now().Add(30 * time.Second)
			for mw.Writes() < 2 {
				select {
				case err := <-exited:
					t.Fatalf("apply ended before the signal (%v): %s\n%s", err, stdout.String(), stderr.String())
				case <-time.After(5 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("apply made no writes within 30s (%s): %s", mw, stderr.String())
				}
			}
			atSignal := mw.Writes()
			signalled := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var waitErr error
			select {
			case waitErr = <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				t.Fatalf("apply still running 10s after %s", sig)
			}
			took := time.Since(signalled)
			afterExit := mw.Writes()
			t.Logf("%s after %d writes; exited after %s with %v and %d writes (%s)\nstderr: %s", sig, atSignal, took, waitErr, afterExit, mw, stderr.String())

			if code := cmd.ProcessState.ExitCode(); code == 0 || code == -1 {
				t.Errorf("exit code %d after %s, want a non-zero exit of its own (not death by the signal)", code, sig)
			}
			if total := 3 * signalZones; atSignal >= total {
				t.Fatalf("all %d writes done before the signal: the test did not interrupt anything", total)
			}
			// Only the write in flight at the signal may still reach the fake.
			if afterExit-atSignal > 1 {
				t.Errorf("%d writes started after %s (at signal %d, at exit %d); want at most the one in flight", afterExit-atSignal, sig, atSignal, afterExit)
			}
			if !strings.Contains(stderr.String(), "context canceled") && !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr does not say the run was interrupted:\n%s", stderr.String())
			}
			// The deferred unlock ran: the lock file was emptied of the pid.
			if b, err := os.ReadFile(lockPath(cfg)); err != nil || len(b) != 0 {
				t.Errorf("lock file after exit: %q, %v; want it empty (released)", b, err)
			}
			for z, b := range before {
				if diff := cmp.Diff(without(b, ours), without(fake.Dump(z), ours)); diff != "" {
					t.Errorf("zone %s: foreign records changed (-before +after):\n%s", z, diff)
				}
			}

			// The lock is free at once and a rerun converges.
			rerun := exec.Command(bin, "apply", "--config", cfg, "--no-dns-shortcut", "--lock-wait", "0s")
			rerun.Env = env
			if out, err := rerun.CombinedOutput(); err != nil {
				t.Fatalf("apply after the interrupted one: %v\n%s", err, out)
			}
			plan := exec.Command(bin, "plan", "--config", cfg, "--no-dns-shortcut", "--detailed-exitcode")
			plan.Env = env
			if out, err := plan.CombinedOutput(); err != nil {
				t.Errorf("plan after the rerun (want exit 0, nothing pending): %v\n%s", err, out)
			}
			for z, b := range before {
				after := fake.Dump(z)
				if diff := cmp.Diff(without(b, ours), without(after, ours)); diff != "" {
					t.Errorf("zone %s after the rerun: foreign records changed (-before +after):\n%s", z, diff)
				}
				if n := len(after) - len(without(after, ours)); n != 3 {
					t.Errorf("zone %s holds %d of our records, want 3:\n%s", z, n, strings.Join(after, "\n"))
				}
			}
		})
	}
}
