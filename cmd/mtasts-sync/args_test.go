package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mtasts-sync/mtasts-sync/internal/check/checktest"
)

// cliRun is one run of the program through run(), as main calls it.
type cliRun struct {
	env      map[string]string
	terminal bool // stdout is a terminal: colour allowed
	dialer   checktest.Dialer
}

func (c cliRun) run(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{
		stdout: &out, stderr: &errOut,
		getenv:   func(k string) string { return c.env[k] },
		dialer:   c.dialer,
		terminal: func(io.Writer) bool { return c.terminal },
	}
	code := run(context.Background(), append([]string{"mtasts-sync"}, args...), e)
	return result{code, out.String(), errOut.String()}
}

// positions puts flag before and after the rest of a command line.
func positions(cmd string, flag, rest []string) map[string][]string {
	return map[string][]string{
		"before": append(append(append([]string{}, flag...), cmd), rest...),
		"after":  append(append([]string{cmd}, rest...), flag...),
	}
}

// commands lists every command of the app, so a new one is covered here
// without being named.
func commands(t *testing.T) []*cli.Command {
	t.Helper()
	app := newApp(env{})
	return app.Commands
}

// requiredArgs gives the arguments of commands that cannot run without
// some; every such command needs an entry, unless its arguments are files
// (…FILE), which argsFor makes up (empty files).
var requiredArgs = map[string][]string{"completion": {"bash"}}

func argsFor(t *testing.T, cmd *cli.Command) []string {
	t.Helper()
	rule := argsRule(cmd)
	if rule.min == 0 {
		return nil
	}
	if a, ok := requiredArgs[cmd.Name]; ok {
		return a
	}
	var out []string
	for i := 0; i < rule.min; i++ {
		name := rule.names[min(i, len(rule.names)-1)]
		if !strings.HasSuffix(name, "FILE") {
			t.Fatalf("command %s needs arguments (%s): add an entry to requiredArgs", cmd.Name, cmd.ArgsUsage)
		}
		f := filepath.Join(t.TempDir(), strings.ToLower(name))
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// sampleValue is a valid value for a global flag of each kind.
func sampleValue(f cli.Flag) []string {
	name := "--" + f.Names()[0]
	switch f.(type) {
	case *cli.BoolFlag:
		return []string{name}
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag:
		return []string{name, "3"}
	case *cli.DurationFlag:
		return []string{name, "1s"}
	}
	if name == "--resolver" { // HOST:PORT; nothing listens on port 1
		return []string{name, "127.0.0.1:1"}
	}
	return []string{name, "sample"}
}

// TestGlobalFlagsParsedEverywhere: every global flag, typed before or after
// any command, is read and never a usage error.
func TestGlobalFlagsParsedEverywhere(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.yaml")
	for _, cmd := range commands(t) {
		for _, f := range globalFlags() {
			for pos, args := range positions(cmd.Name, sampleValue(f), argsFor(t, cmd)) {
				t.Run(cmd.Name+"/"+f.Names()[0]+"/"+pos, func(t *testing.T) {
					r := cliRun{env: map[string]string{configEnv: missing}}.run(t, args...)
					if r.code == exitUsage {
						t.Errorf("mtasts-sync %s: usage error: %s", strings.Join(args, " "), r.stderr)
					}
				})
			}
		}
	}
}

// configFree are the commands that never read the config.
var configFree = map[string]bool{"version": true, "completion": true, "man": true, "show": true}

// TestConfigFlagBothPositions: --config and -c name the file read, before or
// after the command, and beat MTASTS_SYNC_CONFIG.
func TestConfigFlagBothPositions(t *testing.T) {
	dir := t.TempDir()
	typed := filepath.Join(dir, "q", "typed.yaml")
	fromEnv := filepath.Join(dir, "env.yaml")
	for _, cmd := range commands(t) {
		for _, form := range []string{"--config", "-c", "--config="} {
			flag := []string{form, typed}
			if strings.HasSuffix(form, "=") {
				flag = []string{form + typed}
			}
			for pos, args := range positions(cmd.Name, flag, argsFor(t, cmd)) {
				t.Run(cmd.Name+"/"+form+"/"+pos, func(t *testing.T) {
					r := cliRun{env: map[string]string{configEnv: fromEnv}}.run(t, args...)
					if strings.Contains(r.stderr, fromEnv) || r.code == exitUsage {
						t.Fatalf("mtasts-sync %s: exit %d, %s; want the typed config, not $%s", strings.Join(args, " "), r.code, r.stderr, configEnv)
					}
					// validate reports on stdout; the others fail on stderr.
					if !configFree[cmd.Name] && !strings.Contains(r.stderr+r.stdout, typed) {
						t.Errorf("mtasts-sync %s: exit %d, stderr %q; want it to name %s", strings.Join(args, " "), r.code, r.stderr, typed)
					}
				})
			}
		}
	}
	// Without the flag, the variable counts.
	r := cliRun{env: map[string]string{configEnv: fromEnv}}.run(t, "domains")
	if r.code != exitError || !strings.Contains(r.stderr, fromEnv) {
		t.Errorf("domains with $%s only: exit %d, stderr %q", configEnv, r.code, r.stderr)
	}
}

// TestConfigFlagReadsTheConfig: with a real config, before or after the
// command, the run works on it.
func TestConfigFlagReadsTheConfig(t *testing.T) {
	for _, tc := range []struct {
		cmd, want string
		code      int
	}{
		{"plan", "Plan: 2 to add", 0},
		{"apply", "Applied 4 change(s)", exitError}, // and the quickstart's conflict left alone
		{"domains", "example.net  example.net  files", 0},
		{"policy", "# id: ", 0},
	} {
		for pos, args := range positions(tc.cmd, []string{"--config", "CFG"}, nil) {
			t.Run(tc.cmd+"/"+pos, func(t *testing.T) {
				cfg := quickstart(t)
				for i := range args {
					if args[i] == "CFG" {
						args[i] = cfg
					}
				}
				// The variable names a config that must not be read.
				r := cliRun{env: map[string]string{configEnv: filepath.Join(t.TempDir(), "other.yaml")}}.run(t, args...)
				if r.code != tc.code || !strings.Contains(r.stdout, tc.want) {
					t.Errorf("mtasts-sync %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
				}
			})
		}
	}
}

// TestNoColorBothPositions: on a terminal plan, apply and check colour
// their output unless --no-color is given, before or after the command.
func TestNoColorBothPositions(t *testing.T) {
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{})
	for _, tc := range []struct {
		cmd  string
		rest func(t *testing.T) []string
	}{
		{"plan", func(t *testing.T) []string { return []string{"--config", quickstart(t)} }},
		{"apply", func(t *testing.T) []string { return []string{"--config", quickstart(t)} }},
		{"check", func(t *testing.T) []string { return []string{"--resolver", dnsSrv.Addr, "example.org"} }},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			r := cliRun{terminal: true}.run(t, append([]string{tc.cmd}, tc.rest(t)...)...)
			if !strings.Contains(r.stdout, "\x1b[") {
				t.Fatalf("%s on a terminal: no colour, so --no-color proves nothing:\n%s%s", tc.cmd, r.stdout, r.stderr)
			}
			for pos, args := range positions(tc.cmd, []string{"--no-color"}, tc.rest(t)) {
				r := cliRun{terminal: true}.run(t, args...)
				if strings.Contains(r.stdout, "\x1b[") || r.code == exitUsage {
					t.Errorf("--no-color %s: exit %d, colour left in:\n%q", pos, r.code, r.stdout)
				}
			}
		})
	}
}

// TestVerboseBothPositions: -v and --verbose log progress, before or after
// the command.
func TestVerboseBothPositions(t *testing.T) {
	for _, cmd := range []string{"plan", "apply"} {
		for _, flag := range []string{"-v", "--verbose"} {
			for pos, args := range positions(cmd, []string{flag}, []string{"--config", "CFG"}) {
				t.Run(cmd+"/"+flag+"/"+pos, func(t *testing.T) {
					cfg := quickstart(t)
					args[slicesIndex(args, "CFG")] = cfg
					r := cliRun{}.run(t, args...)
					if r.code == exitUsage || !strings.Contains(r.stderr, "INFO") {
						t.Errorf("mtasts-sync %s: exit %d, no progress logged:\n%s", strings.Join(args, " "), r.code, r.stderr)
					}
				})
			}
		}
		r := cliRun{}.run(t, cmd, "--config", quickstart(t))
		if strings.Contains(r.stderr, "INFO") {
			t.Errorf("%s without -v logs progress:\n%s", cmd, r.stderr)
		}
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	panic("no " + v)
}

// TestResolverAndCAFileBothPositions: --resolver picks the DNS server check
// asks, and --ca-file is read, before or after the command.
func TestResolverAndCAFileBothPositions(t *testing.T) {
	dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
		`_mta-sts.example.org. 300 IN TXT "v=STSv1; id=resolverprobe1"`,
	}})
	for pos, args := range positions("check", []string{"--resolver", dnsSrv.Addr}, []string{"--output", "json", "example.org"}) {
		r := cliRun{}.run(t, args...)
		if !strings.Contains(r.stdout, "resolverprobe1") {
			t.Errorf("--resolver %s: the test server's record is not in the report (exit %d):\n%s%s", pos, r.code, r.stdout, r.stderr)
		}
	}
	missing := filepath.Join(t.TempDir(), "no-ca.pem")
	for _, cmd := range []string{"plan", "apply", "domains", "check"} {
		for pos, args := range positions(cmd, []string{"--ca-file", missing}, []string{"--config", "CFG"}) {
			t.Run(cmd+"/"+pos, func(t *testing.T) {
				args[slicesIndex(args, "CFG")] = quickstart(t)
				r := cliRun{}.run(t, args...)
				if r.code != exitError || !strings.Contains(r.stderr, "--ca-file") || !strings.Contains(r.stderr, "no-ca.pem") {
					t.Errorf("mtasts-sync %s: exit %d, stderr %q; want the missing CA file named", strings.Join(args, " "), r.code, r.stderr)
				}
			})
		}
	}
}

// TestPositionalArguments: an argument is honoured or refused, never
// ignored; flags after arguments are read.
func TestPositionalArguments(t *testing.T) {
	t.Run("apply example.org changes nothing", func(t *testing.T) {
		cfg := quickstart(t)
		zones := filepath.Join(filepath.Dir(cfg), "zones")
		before := snapshot(t, zones)
		r := cliRun{}.run(t, "apply", "example.org", "--config", cfg)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--domain example.org") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("apply example.org: exit %d, stderr %q; want exit 64 suggesting --domain example.org", r.code, r.stderr)
		}
		if after := snapshot(t, zones); after != before {
			t.Errorf("apply example.org wrote zone files")
		}
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "example.org"}, `plan takes no arguments, got "example.org"; to work on one domain, use --domain example.org`},
		{[]string{"domains", "example.org", "--output", "json"}, `domains takes no arguments, got "example.org"; to work on one domain, use --domain example.org`},
		{[]string{"policy", "--write", "extra"}, `policy takes no arguments, got "extra"`},
		{[]string{"version", "now"}, `version takes no arguments, got "now"`},
		{[]string{"plan", "--", "--domain"}, `plan takes no arguments, got "--domain"`},
		// A flag's value is never read as a flag: "h" here is a config file.
		{[]string{"plan", "--config", "h", "x"}, `plan takes no arguments, got "x"`},
		{[]string{"plan", "--domain", "-V", "x"}, `plan takes no arguments, got "x"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := cliRun{}.run(t, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 64 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
	t.Run("check takes domains with flags after them", func(t *testing.T) {
		dnsSrv := checktest.StartDNS(t, checktest.DNSConfig{Records: []string{
			`_mta-sts.example.org. 300 IN TXT "v=STSv1; id=afterargs1"`,
		}})
		cfg := quickstart(t)
		r := cliRun{}.run(t, "check", "example.org", "--config", cfg, "--resolver", dnsSrv.Addr, "--output", "json")
		if !strings.Contains(r.stdout, `"domain": "example.org"`) || !strings.Contains(r.stdout, "afterargs1") || strings.Contains(r.stdout, "example.net") {
			t.Errorf("check example.org --config F --resolver R: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// After --, a leading dash is part of an argument: here a bad domain.
		r = cliRun{}.run(t, "check", "--resolver", dnsSrv.Addr, "--", "-example.org")
		if r.code != exitError || strings.Count(r.stderr, `"-example.org"`) != 1 { // named once
			t.Errorf("check -- -example.org: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// snapshot is the content of every file under dir.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		b.WriteString(path + "\n" + string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestArgsRule: the argument rule is read from ArgsUsage, and a FILE
// argument must be a regular file.
func TestArgsRule(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "saved.plan")
	if err := os.WriteFile(plan, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	withDomain := []cli.Flag{&cli.StringSliceFlag{Name: "domain"}}
	for _, tc := range []struct {
		usage string
		flags []cli.Flag
		args  []string
		want  string // "" = accepted
	}{
		{"", nil, nil, ""},
		{"", withDomain, []string{"a.example"}, `x takes no arguments, got "a.example"; to work on one domain, use --domain a.example`},
		{"[DOMAIN...]", nil, []string{"a.example", "b.example"}, ""},
		{"DOMAIN...", nil, nil, "x is missing its argument: mtasts-sync x DOMAIN..."},
		{"[PLANFILE]", withDomain, nil, ""},
		{"[PLANFILE]", withDomain, []string{plan}, ""},
		{"[PLANFILE]", withDomain, []string{plan, plan}, `x takes one argument at most (mtasts-sync x [PLANFILE]), got 2`},
		{"[PLANFILE]", withDomain, []string{"example.org"}, `x PLANFILE: "example.org" is no file (no such file or directory); to work on one domain, use --domain example.org`},
		{"[PLANFILE]", withDomain, []string{dir}, "is not a regular file (a directory)"},
		{"[PLANFILE]", withDomain, []string{fifo}, "is not a regular file (a FIFO)"},
		{"[command]", nil, []string{"plan"}, ""},
	} {
		cmd := &cli.Command{Name: "x", ArgsUsage: tc.usage, Flags: tc.flags}
		err := argsRule(cmd).check(cmd, tc.args)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q %q: %v", tc.usage, tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q %q: %v, want %q", tc.usage, tc.args, err, tc.want)
		}
	}
}

// TestUsageErrors: a mistake on the command line is one line on stderr
// naming it and the nearest command or flag, with exit code 64.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"paln"}, `mtasts-sync: unknown command "paln"; did you mean "plan"? (see mtasts-sync --help)`},
		{[]string{"--config", "x.yaml", "aply"}, `mtasts-sync: unknown command "aply"; did you mean "apply"? (see mtasts-sync --help)`},
		{[]string{"frobnicate"}, `mtasts-sync: unknown command "frobnicate"; the commands are plan, apply, show, policy, domains, check, version, validate, completion, man (see mtasts-sync --help)`},
		{[]string{"help", "domian"}, `mtasts-sync: unknown command "domian"; did you mean "domains"? (see mtasts-sync --help)`},
		{[]string{"plan", "--detailed-exitcod"}, `mtasts-sync: unknown flag --detailed-exitcod for plan; did you mean --detailed-exitcode? (see mtasts-sync plan --help)`},
		{[]string{"--confg", "x.yaml", "plan"}, `mtasts-sync: unknown flag --confg; did you mean --config? (see mtasts-sync --help)`},
		{[]string{"domains", "--detailed-exitcode"}, `mtasts-sync: domains has no flag --detailed-exitcode (only plan has) (see mtasts-sync domains --help)`},
		{[]string{"--domain", "example.org", "apply"}, `mtasts-sync: --domain goes after the command, e.g. mtasts-sync plan --domain …: it is a flag of plan, apply, domains, not a global one (see mtasts-sync --help)`},
		{[]string{"plan", "--config"}, `mtasts-sync: --config needs a value (see mtasts-sync plan --help)`},
		{[]string{"--config", "", "plan"}, `mtasts-sync: --config is empty; give a FILE (see mtasts-sync --help)`},
		{[]string{"check", "--ca-file="}, `mtasts-sync: --ca-file is empty; give a FILE (see mtasts-sync check --help)`},
		{[]string{"--concurrency", "many", "plan"}, `mtasts-sync: --concurrency "many": want a whole number, e.g. 4 (see mtasts-sync plan --help)`},
		{[]string{"apply", "--lock-wait", "5"}, `mtasts-sync: --lock-wait "5": want a duration with its unit, e.g. 30s, 5m or 1h (see mtasts-sync apply --help)`},
		{[]string{"plan", "--no-color=maybe"}, `mtasts-sync: --no-color "maybe": want true or false (or the flag alone) (see mtasts-sync plan --help)`},
		{[]string{"domains", "-o", "yaml"}, `mtasts-sync: --output "yaml": want text or json (see mtasts-sync domains --help)`},
		{[]string{"-x", "plan"}, `mtasts-sync: unknown flag -x (see mtasts-sync --help)`},
		{[]string{"-c", "x.yaml"}, `mtasts-sync: no command given; name one of plan, apply, show, policy, domains, check, version, validate, completion, man (see mtasts-sync --help)`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := cliRun{}.run(t, tc.args...)
			if r.code != exitUsage || r.stderr != tc.want+"\n" || r.stdout != "" {
				t.Errorf("exit %d, stdout %q\nstderr %q\nwant   %q", r.code, r.stdout, r.stderr, tc.want+"\n")
			}
		})
	}
}

// TestVersionFlag: --version and -V print what the version command does,
// and help still works without a config.
func TestVersionFlag(t *testing.T) {
	want := cliRun{}.run(t, "version")
	if want.code != 0 || !strings.HasPrefix(want.stdout, "mtasts-sync ") {
		t.Fatalf("version: exit %d %q", want.code, want.stdout)
	}
	for _, args := range [][]string{{"--version"}, {"-V"}, {"--no-color", "-V"}, {"plan", "--version"}} {
		if r := (cliRun{}).run(t, args...); r.code != 0 || r.stdout != want.stdout {
			t.Errorf("%v: exit %d %q, want %q", args, r.code, r.stdout, want.stdout)
		}
	}
	for _, args := range [][]string{{}, {"--help"}, {"help"}, {"-c", "x.yaml", "-h"}} {
		if r := (cliRun{}).run(t, args...); r.code != 0 || !strings.Contains(r.stdout, "COMMANDS:") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{{"help", "plan"}, {"h", "plan"}, {"plan", "--help"}, {"--config", "x.yaml", "plan", "-h"}} {
		if r := (cliRun{}).run(t, args...); r.code != 0 || !strings.Contains(r.stdout, "--detailed-exitcode") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestBinaryUsageError: the real process exits 64 with one line.
func TestBinaryUsageError(t *testing.T) {
	bin := sharedBinary(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "paln")
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitUsage {
		t.Fatalf("paln: %v, want exit %d", err, exitUsage)
	}
	if got := stderr.String(); got != "mtasts-sync: unknown command \"paln\"; did you mean \"plan\"? (see mtasts-sync --help)\n" {
		t.Errorf("stderr %q", got)
	}
}
