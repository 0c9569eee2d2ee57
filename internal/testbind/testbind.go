// Package testbind runs a real BIND 9 named on a loopback port for tests, so
// RFC 2136 code is checked against the server users run rather than a fake.
package testbind

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Values every Server uses; the secret is fresh per Server.
const (
	keyName = "mtasts-test."
	keyAlg  = "hmac-sha256"

	// Start-up takes tens of milliseconds; the margin is for loaded CI machines.
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
	// Ports are picked free, but another process may take one before named
	// binds it.
	startAttempts = 5
)

// Server is a running named on a loopback port, authoritative (primary) for
// the given zones, accepting RFC 2136 UPDATE and AXFR signed with one TSIG key.
type Server struct {
	Addr    string // "127.0.0.1:PORT", TCP and UDP
	KeyName string // "mtasts-test."
	KeyAlg  string // "hmac-sha256"
	Secret  string // base64

	dir    string
	cmd    *exec.Cmd
	log    *lineLog
	exited chan struct{}
}

// Zone is a zone to serve and its initial content (presentation-format lines,
// absolute names, no SOA needed: Start writes SOA, NS and an A record for the
// NS target when they are missing).
type Zone struct {
	Name    string
	Records []string
}

// Start starts named in a fresh t.TempDir(), waits until it reports
// " running", and registers t.Cleanup to SIGTERM it and wait. When named is
// not installed the test is skipped, unless CI=true, where it fails.
func Start(t testing.TB, zones ...Zone) *Server {
	t.Helper()
	return startWith(t, findNamed(), zones)
}

// startWith is Start with the named binary given, so the missing-binary path
// is testable.
func startWith(t testing.TB, named string, zones []Zone) *Server {
	t.Helper()
	if named == "" {
		msg := "testbind: named (BIND 9) not found in PATH or /usr/sbin: install it with `apt-get install bind9`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: a missing server is a failure)")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	s, err := start(ctx, named, dir, zones)
	if err != nil {
		t.Fatalf("testbind: %v", err)
	}
	// Registered after TempDir so it runs first: named must be gone before
	// its directory is removed.
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("testbind: %v", err)
		}
	})
	return s
}

// findNamed returns the path of the named binary, or "" when it is missing.
func findNamed() string {
	if p, err := exec.LookPath("named"); err == nil {
		return p
	}
	const debian = "/usr/sbin/named"
	if fi, err := os.Stat(debian); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return debian
	}
	return ""
}

// errAddrInUse marks a start that lost its port to another process; the
// caller retries with a new port.
var errAddrInUse = errors.New("address in use")

// start writes the zones and config into dir and runs named until it is
// ready, retrying with a new port when the picked one was taken meanwhile.
func start(ctx context.Context, named, dir string, zones []Zone) (*Server, error) {
	if len(zones) == 0 {
		return nil, errors.New("no zones given: pass at least one Zone")
	}
	names, err := writeZones(dir, zones)
	if err != nil {
		return nil, err
	}
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range startAttempts {
		port, err := freePort(ctx)
		if err != nil {
			return nil, err
		}
		s := &Server{
			Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			KeyName: keyName,
			KeyAlg:  keyAlg,
			Secret:  secret,
			dir:     dir,
		}
		err = s.run(ctx, named, port, names)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no free port after %d attempts: %w", startAttempts, lastErr)
}

// writeZones writes one file per zone and returns the zone names as named
// knows them (no trailing dot), in the order given.
func writeZones(dir string, zones []Zone) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for i, z := range zones {
		_, bare, err := zoneName(z.Name)
		if err != nil {
			return nil, err
		}
		if seen[bare] {
			return nil, fmt.Errorf("zone %s given twice: merge its records into one Zone", bare)
		}
		seen[bare] = true
		text, err := zoneFile(z)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, zoneFileName(i))
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return nil, fmt.Errorf("zone %s: write %s: %w", bare, path, err)
		}
		names = append(names, bare)
	}
	return names, nil
}

// zoneFileName is index based so that no zone name ever becomes a path.
func zoneFileName(i int) string { return fmt.Sprintf("zone%d.db", i) }

// config renders named.conf for the zones (as written by writeZones).
func config(dir string, port int, secret string, zones []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "key %q { algorithm %s; secret %q; };\n", keyName, keyAlg, secret)
	fmt.Fprintf(&b, "options {\n")
	fmt.Fprintf(&b, "  directory %q; pid-file %q; session-keyfile %q;\n",
		dir, filepath.Join(dir, "named.pid"), filepath.Join(dir, "session.key"))
	fmt.Fprintf(&b, "  listen-on port %d { 127.0.0.1; }; listen-on-v6 { none; };\n", port)
	fmt.Fprintf(&b, "  recursion no; dnssec-validation no; notify no;\n};\n")
	fmt.Fprintf(&b, "controls { };\n")
	for i, z := range zones {
		fmt.Fprintf(&b, "zone %q { type primary; file %q;\n", z, zoneFileName(i))
		fmt.Fprintf(&b, "  allow-update { key %q; }; allow-transfer { key %q; }; };\n", keyName, keyName)
	}
	return b.String()
}

// run starts named on port and waits until it is running with every zone
// loaded. On failure named is stopped and the error carries its log.
func (s *Server) run(ctx context.Context, named string, port int, zones []string) error {
	conf := filepath.Join(s.dir, "named.conf")
	if err := os.WriteFile(conf, []byte(config(s.dir, port, s.Secret, zones)), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", conf, err)
	}

	ready := make(chan struct{})
	var once sync.Once
	s.log = &lineLog{onLine: func(line string) {
		if strings.HasSuffix(line, " running") {
			once.Do(func() { close(ready) })
		}
	}}
	// -g keeps named in the foreground logging to stderr; -4 because the
	// config listens on IPv4 loopback only.
	s.cmd = exec.Command(named, "-g", "-4", "-c", conf)
	s.cmd.Dir = s.dir
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", named, err)
	}
	s.exited = make(chan struct{})
	go func() {
		_ = s.cmd.Wait() // the log says why named exited
		close(s.exited)
	}()

	fail := func(format string, args ...any) error {
		_ = s.stop()
		log := s.log.String()
		err := fmt.Errorf(format, args...)
		if portTaken(log) {
			err = fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return fmt.Errorf("%w\nnamed log (%s):\n%s", err, conf, log)
	}
	select {
	case <-ready:
	case <-s.exited:
		return fail("named exited before it was running: read the log below")
	case <-ctx.Done():
		return fail("named not running in time: %w", ctx.Err())
	}
	log := s.log.String()
	// A TCP port taken by someone else only costs a log line, not the start.
	if portTaken(log) {
		return fail("port %d taken while named started", port)
	}
	for _, z := range zones {
		if !strings.Contains(log, "zone "+z+"/IN: loaded serial") {
			return fail("zone %s did not load: fix its records", z)
		}
	}
	return nil
}

// portTaken reports whether named's log shows it lost its port: a taken TCP
// port is only logged, a taken UDP port ends the start.
func portTaken(log string) bool {
	return strings.Contains(log, "address in use") ||
		strings.Contains(log, "unable to listen on any configured interfaces")
}

// stop sends SIGTERM and waits for named to exit, killing it if it hangs.
func (s *Server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // fails only when already gone
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("named (pid %d) ignored SIGTERM for %v and was killed; log:\n%s",
			s.cmd.Process.Pid, stopTimeout, s.log.String())
	}
}

// Log returns everything named has logged so far, for assertions on what
// BIND says it did (it answers some refused changes with NOERROR and only
// logs them).
func (s *Server) Log() string { return s.log.String() }

// newSecret returns a random HMAC-SHA256 key, base64 encoded.
func newSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate TSIG secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// freePort returns a loopback port that was free for both TCP and UDP a
// moment ago: the kernel picks a TCP port and the UDP bind proves the other
// half.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	var lastErr error
	for range 50 {
		tl, err := lc.Listen(ctx, "tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free loopback port: %w", err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := lc.ListenPacket(ctx, "udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		_ = tl.Close()
		if err != nil {
			lastErr = err
			continue
		}
		_ = ul.Close()
		return port, nil
	}
	return 0, fmt.Errorf("find a loopback port free for TCP and UDP: %w", lastErr)
}

// WaitLog waits until named has logged substr. named logs some outcomes
// after it has answered, so a test reads them through WaitLog, not Log.
func (s *Server) WaitLog(ctx context.Context, substr string) error {
	if s.log == nil {
		return errors.New("server not started: get one from Start")
	}
	for {
		text, changed := s.log.snapshot()
		if strings.Contains(text, substr) {
			return nil
		}
		select {
		case <-changed:
		case <-s.exited:
			if text, _ := s.log.snapshot(); strings.Contains(text, substr) {
				return nil
			}
			return fmt.Errorf("named exited without logging %q; log:\n%s", substr, text)
		case <-ctx.Done():
			return fmt.Errorf("named has not logged %q: %w; log:\n%s", substr, ctx.Err(), text)
		}
	}
}

// lineLog collects named's output and calls onLine for each complete line.
type lineLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	onLine  func(string)
	changed chan struct{} // closed and replaced on every write
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.changed != nil {
		close(l.changed)
	}
	l.changed = make(chan struct{})
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(l.partial[:i]), "\r")
		l.partial = l.partial[i+1:]
		if l.onLine != nil {
			l.onLine(line)
		}
	}
	return len(p), nil
}

// snapshot returns the log so far and a channel closed on the next write.
func (l *lineLog) snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.buf.String(), l.changed
}

func (l *lineLog) String() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
