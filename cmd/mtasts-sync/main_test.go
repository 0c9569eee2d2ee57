package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// quickstart copies examples/quickstart into a temp dir and returns the
// config path there.
func quickstart(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "..", "examples", "quickstart")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "mtasts-sync.yaml")
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the program in-process.
func runCLI(t *testing.T, environ map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return environ[k] }
	code := run(context.Background(), append([]string{"mtasts-sync"}, args...), env{stdout: &out, stderr: &errOut, getenv: getenv})
	return result{code, out.String(), errOut.String()}
}

// zoneLines parses a zone file into sorted presentation lines, the SOA
// serial zeroed, so two parses compare by meaning.
func zoneLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	origin := strings.TrimSuffix(filepath.Base(path), ".zone") + "."
	zp := dns.NewZoneParser(f, origin, path)
	var out []string
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if soa, ok := rr.(*dns.SOA); ok {
			soa.Serial = 0
		}
		out = append(out, rr.String())
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func ours(line string) bool {
	name := strings.Fields(line)[0]
	return strings.HasPrefix(name, "mta-sts.") || strings.HasPrefix(name, "_mta-sts.") || strings.HasPrefix(name, "_smtp._tls.")
}

func without(lines []string, drop func(string) bool) []string {
	var out []string
	for _, l := range lines {
		if !drop(l) {
			out = append(out, l)
		}
	}
	return out
}

func TestQuickstartPlan(t *testing.T) {
	cfg := quickstart(t)
	r := runCLI(t, nil, "plan", "--config", cfg, "--detailed-exitcode")
	if r.code != exitChanges {
		t.Fatalf("exit %d, want %d; stderr: %s", r.code, exitChanges, r.stderr)
	}
	for _, want := range []string{
		"zone example.net (provider files)",
		"! mta-sts.example.net.",
		"- _smtp._tls.example.net.",
		"+ mta-sts.example.org.",
		`~ _mta-sts.example.org.  TXT    "v=STSv1; id=20240101" -> "v=STSv1; id=c0a762642c8ff96deabc"`,
		"? _mta-sts.example.net.",
		"Plan: 2 to add, 1 to change, 1 to delete, 1 conflict. 1 withheld. 1 domain already in sync.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "mta-sts.example.com.") || strings.Contains(r.stdout, "zone example.com ") {
		t.Errorf("in-sync zone shown:\n%s", r.stdout)
	}
}

func TestApplyKeepsForeignRecordsAndConverges(t *testing.T) {
	cfg := quickstart(t)
	dir := filepath.Dir(cfg)
	zones := []string{"example.com", "example.org", "example.net"}
	before := map[string][]string{}
	for _, z := range zones {
		before[z] = zoneLines(t, filepath.Join(dir, "zones", z+".zone"))
	}
	r := runCLI(t, nil, "apply", "--config", cfg)
	if r.code != exitError || !strings.Contains(r.stderr, "1 conflict(s) left alone") {
		t.Fatalf("apply with a conflict: exit %d (want 1), stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "Applied 4 change(s) in 2 zone(s).") {
		t.Errorf("apply output:\n%s", r.stdout)
	}
	for _, z := range zones {
		after := zoneLines(t, filepath.Join(dir, "zones", z+".zone"))
		if diff := cmp.Diff(without(before[z], ours), without(after, ours)); diff != "" {
			t.Errorf("zone %s: foreign records changed (-before +after):\n%s", z, diff)
		}
	}
	// The conflicting A record is untouched.
	net := zoneLines(t, filepath.Join(dir, "zones", "example.net.zone"))
	if !containsLine(net, "mta-sts.example.net.\t3600\tIN\tA\t192.0.2.7") {
		t.Errorf("conflicting A record gone: %v", net)
	}
	// A rerun plans nothing but the conflict; with the conflict resolved, nothing at all.
	r = runCLI(t, nil, "plan", "--config", cfg, "--output", "json")
	if !strings.Contains(r.stdout, `"create": 0`) || !strings.Contains(r.stdout, `"update": 0`) || !strings.Contains(r.stdout, `"delete": 0`) {
		t.Errorf("rerun plans changes:\n%s", r.stdout)
	}
	removeLine(t, filepath.Join(dir, "zones", "example.net.zone"), "mta-sts.example.net.")
	if r := runCLI(t, nil, "apply", "--config", cfg, "--quiet"); r.code != 0 || !strings.Contains(r.stdout, "+ mta-sts.example.net.") {
		t.Fatalf("apply after resolving the conflict: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, "plan", "--config", cfg, "--detailed-exitcode")
	if r.code != exitOK || !strings.Contains(r.stdout, "Plan: 0 to add, 0 to change, 0 to delete, 0 conflicts. 3 domains already in sync.") {
		t.Errorf("rerun: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "apply", "--config", cfg, "--quiet"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("quiet apply with nothing to do printed %q %q (exit %d)", r.stdout, r.stderr, r.code)
	}
}

// squash folds runs of spaces, so checks do not depend on column widths.
func squash(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func removeLine(t *testing.T, path, prefix string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, prefix) {
			keep = append(keep, l)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDomainFilter(t *testing.T) {
	cfg := quickstart(t)
	r := runCLI(t, nil, "plan", "--config", cfg, "--domain", "EXAMPLE.ORG.")
	if r.code != 0 || strings.Contains(r.stdout, "example.net") || !strings.Contains(r.stdout, "example.org") {
		t.Errorf("--domain example.org: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, "plan", "--config", cfg, "--domain", "unknown.example")
	if r.code != exitError || !strings.Contains(r.stderr, "unknown.example") {
		t.Errorf("--domain unknown: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	cfg := quickstart(t)
	r := runCLI(t, map[string]string{"MTASTS_SYNC_CONFIG": cfg}, "domains")
	if r.code != 0 || !strings.Contains(r.stdout, "example.net  example.net  files") {
		t.Errorf("domains via MTASTS_SYNC_CONFIG: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	body := "policy:\n  mode: testing\n  maxage: 1\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"plan", "apply", "domains", "policy"} {
		r := runCLI(t, nil, cmd, "--config", cfg)
		if r.code != exitError || !strings.Contains(r.stderr, "bad.yaml:3") || !strings.Contains(r.stderr, "maxage") {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 naming bad.yaml:3 and the key", cmd, r.code, r.stderr)
		}
	}
	r := runCLI(t, nil, "plan", "--config", filepath.Join(dir, "missing.yaml"))
	if r.code != exitError || !strings.Contains(r.stderr, "missing.yaml") {
		t.Errorf("missing config: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestPolicyCommand(t *testing.T) {
	cfg := quickstart(t)
	r := runCLI(t, nil, "policy", "--config", cfg)
	want := "# id: c0a762642c8ff96deabc\nversion: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("policy: exit %d\n%q\nwant\n%q", r.code, r.stdout, want)
	}
	r = runCLI(t, nil, "policy", "--config", cfg, "--write")
	if r.code != exitError || !strings.Contains(r.stderr, "policy.file is not set") {
		t.Errorf("policy --write without policy.file: exit %d %q", r.code, r.stderr)
	}
}

func TestPolicyFileWrittenBeforeDNS(t *testing.T) {
	cfg := quickstart(t)
	dir := filepath.Dir(cfg)
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte("  mx: [mail.example.com]\n"), []byte("  mx: [mail.example.com]\n  file: ./www/mta-sts.txt\n"), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The web root does not exist: the policy cannot be written, so no
	// DNS record may change.
	before := zoneLines(t, filepath.Join(dir, "zones", "example.org.zone"))
	r := runCLI(t, nil, "apply", "--config", cfg)
	if r.code != exitError || !strings.Contains(r.stderr, "policy file") {
		t.Fatalf("apply with an unwritable policy file: exit %d, stderr %q", r.code, r.stderr)
	}
	if diff := cmp.Diff(before, zoneLines(t, filepath.Join(dir, "zones", "example.org.zone"))); diff != "" {
		t.Fatalf("DNS changed although the policy was not written:\n%s", diff)
	}
	if err := os.Mkdir(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "plan", "--config", cfg)
	if !strings.Contains(r.stdout, "+ policy-file "+filepath.Join(dir, "www", "mta-sts.txt")) {
		t.Errorf("plan does not show the policy file:\n%s", r.stdout)
	}
	runCLI(t, nil, "apply", "--config", cfg)
	got, err := os.ReadFile(filepath.Join(dir, "www", "mta-sts.txt"))
	if err != nil || !bytes.HasPrefix(got, []byte("version: STSv1\r\n")) {
		t.Fatalf("policy file: %q %v", got, err)
	}
	if r := runCLI(t, nil, "plan", "--config", cfg); strings.Contains(r.stdout, "policy-file") {
		t.Errorf("policy file planned again after apply:\n%s", r.stdout)
	}
}

func TestApplyRunsDoNotOverlap(t *testing.T) {
	cfg := quickstart(t)
	unlock, err := lock(context.Background(), lockPath(cfg), 0)
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "apply", "--config", cfg)
	if r.code != exitError || !strings.Contains(r.stderr, "another mtasts-sync run holds") || !strings.Contains(r.stderr, "--lock-wait") {
		t.Errorf("apply while locked: exit %d, stderr %q", r.code, r.stderr)
	}
	unlock()
	// Four real processes at once: each waits its turn, ends with the
	// conflict (exit 1), and the zones hold each record once.
	bin := sharedBinary(t)
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "apply", "--config", cfg, "--lock-wait", "60s")
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			err := cmd.Run()
			codes[i] = cmd.ProcessState.ExitCode()
			if err != nil && codes[i] < 0 {
				t.Errorf("run %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	for _, c := range codes {
		if c != exitError {
			t.Errorf("exit codes %v, want all 1 (the conflict)", codes)
			break
		}
	}
	org := zoneLines(t, filepath.Join(filepath.Dir(cfg), "zones", "example.org.zone"))
	n := 0
	for _, l := range org {
		if strings.HasPrefix(l, "_mta-sts.example.org.") && strings.Contains(l, "v=STSv1") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d STS records after concurrent applies, want 1", n)
	}
}

func TestOutputFlagChecked(t *testing.T) {
	cfg := quickstart(t)
	for _, cmd := range []string{"plan", "apply", "domains", "check", "validate", "version"} {
		r := runCLI(t, nil, cmd, "--config", cfg, "--output", "yaml")
		want := `--output "yaml": want text or json`
		if cmd == "check" {
			want = `--output "yaml": want text, json or prometheus`
		}
		if r.code != exitUsage || !strings.Contains(r.stderr, want) || r.stdout != "" {
			t.Errorf("%s --output yaml: exit %d %q", cmd, r.code, r.stderr)
		}
	}
	// Only check speaks prometheus.
	if r := runCLI(t, nil, "plan", "--config", cfg, "--output", "prometheus"); r.code != exitUsage || !strings.Contains(r.stderr, `--output "prometheus": want text or json`) {
		t.Errorf("plan --output prometheus: exit %d %q", r.code, r.stderr)
	}
}

// sharedBinary builds the real binary once for the whole test run.
func sharedBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "mtasts-sync-test-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "mtasts-sync")
		if runtime.GOOS == "windows" {
			binary.path += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

var binary struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

// TestBinary runs the README's first command with the real binary.
func TestBinary(t *testing.T) {
	bin := sharedBinary(t)
	cfg := quickstart(t)
	cmd := exec.Command(bin, "plan", "--config", cfg, "--detailed-exitcode")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitChanges {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("Plan: 2 to add")) {
		t.Errorf("plan output:\n%s", out)
	}
	v, err := exec.Command(bin, "version").Output()
	if err != nil || !bytes.HasPrefix(v, []byte("mtasts-sync ")) {
		t.Errorf("version: %q %v", v, err)
	}
}
