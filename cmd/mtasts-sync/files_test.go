package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// specialFile makes a FIFO, or a twin of /dev/null or /dev/zero (mknod,
// same device numbers, needs root) at path.
func specialFile(t *testing.T, path, kind string) {
	t.Helper()
	var err error
	switch kind {
	case "fifo":
		err = syscall.Mkfifo(path, 0o644)
	case "null":
		err = syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|3)
	case "zero":
		err = syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|5)
	}
	if errors.Is(err, syscall.EPERM) && os.Getenv("CI") != "true" {
		t.Skipf("mknod %s needs root: %v", kind, err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// withPolicyFile sets policy.file in the quickstart config.
func withPolicyFile(t *testing.T, cfg, file string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("  mx: [mail.example.com]\n"), []byte("  mx: [mail.example.com]\n  file: "+file+"\n"), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCLIBounded is runCLI that fails the test instead of hanging.
func runCLIBounded(t *testing.T, args ...string) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- runCLI(t, nil, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("mtasts-sync %s hangs", strings.Join(args, " "))
	}
	return result{}
}

// TestPolicyFileOnlyReplacesRegularFiles: apply must not replace a device
// or a FIFO at policy.file (as root, `file: /dev/null` replaced the
// system's /dev/null), and writes through a symlink to its target.
func TestPolicyFileOnlyReplacesRegularFiles(t *testing.T) {
	for _, kind := range []string{"null", "fifo"} {
		t.Run(kind, func(t *testing.T) {
			cfg := quickstart(t)
			dir := filepath.Dir(cfg)
			policy := filepath.Join(dir, kind)
			specialFile(t, policy, kind)
			withPolicyFile(t, cfg, policy)
			zone := filepath.Join(dir, "zones", "example.org.zone")
			before := zoneLines(t, zone)
			for _, cmd := range [][]string{{"apply"}, {"policy", "--write"}} {
				r := runCLIBounded(t, append(cmd, "--config", cfg)...)
				if r.code != exitError || !strings.Contains(r.stderr, policy) || !strings.Contains(r.stderr, "not a regular file") {
					t.Errorf("%s with policy.file a %s: exit %d, stderr %q; want exit 1 naming the file and why", cmd[0], kind, r.code, r.stderr)
				}
			}
			fi, err := os.Lstat(policy)
			if err != nil || fi.Mode().IsRegular() {
				t.Errorf("%s was replaced by a regular file: %v %v", policy, fi.Mode(), err)
			}
			if diff := cmp.Diff(before, zoneLines(t, zone)); diff != "" {
				t.Errorf("DNS changed although the policy could not be written:\n%s", diff)
			}
		})
	}
	t.Run("symlink", func(t *testing.T) {
		cfg := quickstart(t)
		dir := filepath.Dir(cfg)
		if err := os.Mkdir(filepath.Join(dir, "www"), 0o755); err != nil {
			t.Fatal(err)
		}
		real := filepath.Join(dir, "www", "mta-sts.txt")
		if err := os.WriteFile(real, []byte("old"), 0o640); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "policy.txt")
		if err := os.Symlink("www/mta-sts.txt", link); err != nil {
			t.Fatal(err)
		}
		withPolicyFile(t, cfg, link)
		// The quickstart holds a conflict, left alone: exit 1 for that.
		if r := runCLIBounded(t, "apply", "--config", cfg); !strings.Contains(r.stdout, "Policy file "+link+" written") {
			t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
		}
		got, err := os.ReadFile(real)
		if err != nil || !bytes.HasPrefix(got, []byte("version: STSv1\r\n")) {
			t.Errorf("symlink target holds %q, %v; want the policy", got, err)
		}
		if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
			t.Errorf("policy file mode %v, want 0640 kept", fi.Mode().Perm())
		}
	})
}

// TestBoundedReads: a device, a FIFO or a huge file where the config, a
// secret file or the policy file should be is an error naming the file,
// never a hang or an out-of-memory crash.
func TestBoundedReads(t *testing.T) {
	tests := []struct {
		name, kind string
		// where puts the special file into the config; it returns the
		// arguments after the command.
		where func(t *testing.T, cfg, special string) []string
		want  string
	}{
		{"config /dev/zero", "zero", asConfig, "it is a character device, not a regular file"},
		{"config FIFO", "fifo", asConfig, "it is a named pipe (FIFO), not a regular file"},
		{"config huge", "big", asConfig, "larger than the limit of 1 MiB"},
		{"api_token_file /dev/zero", "zero", asTokenFile, "it is a character device, not a regular file"},
		{"api_token_file FIFO", "fifo", asTokenFile, "it is a named pipe (FIFO), not a regular file"},
		{"api_token_file huge", "big", asTokenFile, "larger than the limit of 64 KiB"},
		{"policy.file /dev/zero", "zero", asPolicyFile, "it is a character device, not a regular file"},
		{"policy.file FIFO", "fifo", asPolicyFile, "it is a named pipe (FIFO), not a regular file"},
		{"policy.file huge", "big", asPolicyFile, "larger than the limit of 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := quickstart(t)
			special := filepath.Join(t.TempDir(), tt.kind)
			if tt.kind == "big" {
				f, err := os.Create(special)
				if err != nil {
					t.Fatal(err)
				}
				// Sparse: 4 GiB that take no disk.
				if err := f.Truncate(4 << 30); err != nil {
					t.Fatal(err)
				}
				f.Close()
			} else {
				specialFile(t, special, tt.kind)
			}
			args := tt.where(t, cfg, special)
			for _, cmd := range []string{"plan", "apply"} {
				r := runCLIBounded(t, append([]string{cmd}, args...)...)
				if r.code != exitError || !strings.Contains(r.stderr, special) || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: exit %d, stderr %q; want exit 1 naming %s and saying %q", cmd, r.code, r.stderr, special, tt.want)
				}
			}
		})
	}
}

func asConfig(t *testing.T, cfg, special string) []string { return []string{"--config", special} }

func asTokenFile(t *testing.T, cfg, special string) []string {
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("\nproviders:\n"), []byte("\nproviders:\n  cf:\n    type: cloudflare\n    api_token_file: "+special+"\n"), 1)
	b = bytes.Replace(b, []byte("  example.com: files\n"), []byte("  example.com: cf\n"), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--config", cfg}
}

func asPolicyFile(t *testing.T, cfg, special string) []string {
	withPolicyFile(t, cfg, special)
	return []string{"--config", cfg}
}

// TestRunLockNeverFollowsSymlink: the run lock is truncated and gets the
// pid; a symlink planted at its path (say in /tmp, the fallback) must not
// make apply truncate the file it points to.
func TestRunLockNeverFollowsSymlink(t *testing.T) {
	cfg := quickstart(t)
	victim := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, lockPath(cfg)); err != nil {
		t.Fatal(err)
	}
	r := runCLIBounded(t, "apply", "--config", cfg)
	if r.code != exitError || !strings.Contains(r.stderr, lockPath(cfg)) || !strings.Contains(r.stderr, "symlink") {
		t.Errorf("apply with a symlink as its lock file: exit %d, stderr %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the symlink's target was changed: %q", b)
	}
}

const sharedZone = `$ORIGIN example.com.
$TTL 3600
@    IN SOA ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 3600
@    IN NS  ns1.example.com.
ns1  IN A   192.0.2.53
www  IN A   192.0.2.80
`

// zoneDirConfig writes a config in its own directory for the domains
// <prefix>0.example.com … <prefix>n-1.example.com, all in zone example.com
// kept in zones.
func zoneDirConfig(t *testing.T, zones, prefix string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("policy:\n  mode: testing\n  max_age: 604800\n  mx: [mail.example.com]\npolicy_host: mail.example.com\n")
	b.WriteString("tlsrpt:\n  rua: [mailto:tls-reports@example.com]\nlayout: direct\nttl: 3600\npublish_gate: false\ndomains:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - %s%d.example.com\n", prefix, i)
	}
	fmt.Fprintf(&b, "providers:\n  files:\n    type: zonefile\n    directory: %s\nzones:\n  example.com: files\n", zones)
	cfg := filepath.Join(t.TempDir(), "mtasts-sync.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// zoneSerial reads the SOA serial of a zone file.
func zoneSerial(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zp := dns.NewZoneParser(bytes.NewReader(b), "example.com.", path)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if soa, ok := rr.(*dns.SOA); ok {
			return strconv.FormatUint(uint64(soa.Serial), 10)
		}
	}
	t.Fatalf("%s: no SOA (%v)", path, zp.Err())
	return ""
}

// TestZoneWrittenOncePerApply: 150 domains are 450 records in one zone;
// apply writes the zone file once, and its serial moves one step (each
// record write used to move it one step: a date serial ran days ahead).
func TestZoneWrittenOncePerApply(t *testing.T) {
	today := time.Now().UTC().Format("20060102")
	for _, tt := range []struct{ serial, want string }{{"7", "8"}, {today + "05", today + "06"}} {
		t.Run(tt.serial, func(t *testing.T) {
			zones := t.TempDir()
			zone := filepath.Join(zones, "example.com.zone")
			if err := os.WriteFile(zone, []byte(strings.Replace(sharedZone, " 7 ", " "+tt.serial+" ", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := zoneDirConfig(t, zones, "d", 150)
			if r := runCLI(t, nil, "apply", "--config", cfg); r.code != 0 {
				t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if got := zoneSerial(t, zone); got != tt.want {
				t.Errorf("serial %s after one apply, want %s", got, tt.want)
			}
			if n := len(without(zoneLines(t, zone), func(l string) bool { return !ours(l) })); n != 450 {
				t.Errorf("%d of our records in the zone, want 450", n)
			}
		})
	}
}

// TestTwoConfigsShareZoneDir: two mtasts-sync processes with configs for
// different domains in one zone file, applying at once: neither loses the
// other's records (with a write per record and no lock between
// processes, a third of each were lost, and the error blamed the server).
func TestTwoConfigsShareZoneDir(t *testing.T) {
	bin := sharedBinary(t)
	zones := t.TempDir()
	zone := filepath.Join(zones, "example.com.zone")
	if err := os.WriteFile(zone, []byte(sharedZone), 0o640); err != nil {
		t.Fatal(err)
	}
	const n = 60
	cfgs := []string{zoneDirConfig(t, zones, "a", n), zoneDirConfig(t, zones, "b", n)}
	outs := make([][]byte, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Go(func() {
			cmd := exec.Command(bin, "apply", "--config", cfg)
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			outs[i], errs[i] = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for i := range cfgs {
		if errs[i] != nil {
			t.Errorf("apply %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	lines := zoneLines(t, zone)
	for _, prefix := range []string{"a", "b"} {
		for i := range n {
			d := fmt.Sprintf("%s%d.example.com.", prefix, i)
			for _, name := range []string{"mta-sts." + d, "_mta-sts." + d, "_smtp._tls." + d} {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, name+"\t")
				}
				if !found {
					t.Errorf("%s lost", name)
				}
			}
		}
	}
	if !containsLine(lines, "www.example.com.\t3600\tIN\tA\t192.0.2.80") {
		t.Error("foreign record www lost")
	}
	for i, cfg := range cfgs {
		if r := runCLI(t, nil, "plan", "--config", cfg); r.code != 0 || !strings.Contains(r.stdout, "in sync") {
			t.Errorf("plan %d after both applies: exit %d\n%s%s", i, r.code, r.stdout, r.stderr)
		}
	}
}
