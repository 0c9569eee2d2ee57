package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// needTool returns the path of an external program a test runs; it skips
// without it, except under CI=true, where .ci/run installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; .ci/run installs it", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func TestReadBuildInfo(t *testing.T) {
	vcs := func(rev, when, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: when}, {Key: "vcs.modified", Value: modified}}}
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name          string
		bi            *debug.BuildInfo
		ldV, ldC, ldD string
		want          buildInfo
	}{
		{"release build with -ldflags", vcs("0123456789abcdef0123", "2026-01-02T03:04:05Z", "false"), "v1.2.0", "feedface", "2026-02-03T00:00:00Z",
			buildInfo{Version: "v1.2.0", Commit: "feedface", Date: "2026-02-03T00:00:00Z", GoVersion: "go1.26.8", Platform: platform}},
		{"go install module@version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.1.0"}}, "", "", "",
			buildInfo{Version: "v1.1.0", Commit: unknown, Date: unknown, GoVersion: "go1.26.8", Platform: platform}},
		{"checkout with local edits", vcs("0123456789abcdef0123", "2026-01-02T03:04:05Z", "true"), "", "", "",
			buildInfo{Version: "dev-0123456789ab-dirty", Commit: "0123456789abcdef0123", Date: "2026-01-02T03:04:05Z", Modified: true, GoVersion: "go1.26.8", Platform: platform}},
		{"clean checkout", vcs("abc", "2026-01-02T03:04:05Z", "false"), "", "", "",
			buildInfo{Version: "dev-abc", Commit: "abc", Date: "2026-01-02T03:04:05Z", GoVersion: "go1.26.8", Platform: platform}},
		{"no build info at all", nil, "", "", "",
			buildInfo{Version: "dev", Commit: unknown, Date: unknown, GoVersion: runtime.Version(), Platform: platform}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readBuildInfo(tt.bi, tt.ldV, tt.ldC, tt.ldD)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// TestVersionBinary builds the binary the way a release does and reads its
// version back, as text and JSON, by both spellings.
func TestVersionBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "mtasts-sync")
	ld := "-X main.version=v9.8.7 -X main.commit=0123abcd -X main.date=2026-03-04T05:06:07Z"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	for _, want := range []string{"mtasts-sync v9.8.7\n", "commit:   0123abcd\n", "built:    2026-03-04T05:06:07Z\n", "go:       go1.", "platform: " + runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(string(out), want) {
			t.Errorf("version lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command(bin, "version", "--output", "json").Output()
	if err != nil {
		t.Fatalf("version --output json: %v", err)
	}
	var info buildInfo
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("version JSON: %v\n%s", err, out)
	}
	if info.Version != "v9.8.7" || info.Commit != "0123abcd" || info.Date != "2026-03-04T05:06:07Z" || !strings.HasPrefix(info.GoVersion, "go1.") {
		t.Errorf("version JSON: %+v", info)
	}
}

func TestVersionNeverDevel(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "mtasts-sync ") {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if v := strings.Fields(r.stdout)[1]; v == "devel" || v == "(devel)" || v == "" {
		t.Errorf("version %q", v)
	}
	for _, field := range []string{"commit:", "built:", "go:", "platform:"} {
		if !strings.Contains(r.stdout, field) {
			t.Errorf("version lacks %s:\n%s", field, r.stdout)
		}
	}
}

// visibleCommands are the commands every completion script and the man
// page must name.
func visibleCommands(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, c := range newApp(env{}).VisibleCommands() {
		out = append(out, c.Name)
	}
	for _, want := range []string{"plan", "apply", "check", "validate", "version", "completion", "man"} {
		found := false
		for _, c := range out {
			found = found || c == want
		}
		if !found {
			t.Fatalf("command %s missing from %v", want, out)
		}
	}
	return out
}

func TestCompletionScripts(t *testing.T) {
	commands := visibleCommands(t)
	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			r := runCLI(t, nil, "completion", shell)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, c := range commands {
				if !strings.Contains(r.stdout, c) {
					t.Errorf("%s script lacks command %s", shell, c)
				}
			}
			for _, flag := range []string{"config", "output", "domain", "detailed-exitcode"} {
				if !strings.Contains(r.stdout, flag) {
					t.Errorf("%s script lacks flag %s", shell, flag)
				}
			}
			// The shell itself must accept the script.
			script := filepath.Join(t.TempDir(), "completion."+shell)
			if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			sh := needTool(t, shell)
			if out, err := exec.Command(sh, "-n", script).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, out)
			}
			if shell == "fish" {
				// fish completes a command line on request: ask it.
				out, err := exec.Command(sh, "-c", "source "+script+"; complete -C'mtasts-sync va'; complete -C'mtasts-sync plan --output '").CombinedOutput()
				if err != nil || !strings.Contains(string(out), "validate\t") || !strings.Contains(string(out), "json\t") {
					t.Errorf("fish completes:\n%s (%v)", out, err)
				}
			}
		})
	}
	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"completion"}, exitUsage, "completion is missing its argument: mtasts-sync completion bash|zsh|fish"},
		{[]string{"completion", "tcsh"}, exitUsage, `unknown shell "tcsh"; want one of bash, zsh, fish (see mtasts-sync completion --help)`},
	} {
		r := runCLI(t, nil, bad.args...)
		if r.code != bad.code || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v: exit %d, stderr %q", bad.args, r.code, r.stderr)
		}
	}
}

// TestBashCompletionCompletes runs the bash script the way bash does on TAB.
func TestBashCompletionCompletes(t *testing.T) {
	bash := needTool(t, "bash")
	r := runCLI(t, nil, "completion", "bash")
	dir := t.TempDir()
	script := filepath.Join(dir, "completion.bash")
	if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		words []string // the line so far; the last word is being completed
		want  []string
	}{
		{[]string{"mtasts-sync", "p"}, []string{"plan", "policy"}},
		{[]string{"mtasts-sync", "va"}, []string{"validate"}},
		{[]string{"mtasts-sync", "plan", "--det"}, []string{"--detailed-exitcode"}},
		{[]string{"mtasts-sync", "apply", "--output", ""}, []string{"text", "json"}},
		{[]string{"mtasts-sync", "completion", "z"}, []string{"zsh"}},
		{[]string{"mtasts-sync", "plan", "--config", "si"}, []string{"site.yaml"}},
		{[]string{"mtasts-sync", "show", "si"}, []string{"site.yaml"}},
		{[]string{"mtasts-sync", "show", "--no-c"}, []string{"--no-color"}},
	}
	for _, tt := range tests {
		words := make([]string, len(tt.words))
		for i, w := range tt.words {
			words[i] = "'" + w + "'"
		}
		prog := "source " + script + "\nCOMP_WORDS=(" + strings.Join(words, " ") + ")\nCOMP_CWORD=" + strconv.Itoa(len(tt.words)-1) + "\n_mtasts_sync\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command(bash, "-c", prog)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tt.words, err, out)
		}
		got := strings.Fields(string(out))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("completing %v (-want +got)\n%s", tt.words, diff)
		}
	}
}

func TestManPage(t *testing.T) {
	r := runCLI(t, nil, "man")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, ".nh\n.TH mtasts-sync 1") {
		t.Errorf("not a roff man page:\n%.200s", r.stdout)
	}
	if !strings.Contains(r.stdout, "\n.SH COMMANDS\n") {
		t.Fatal("no COMMANDS section")
	}
	for _, c := range visibleCommands(t) {
		if !strings.Contains(r.stdout, "\n.SH "+c+"\n") && !strings.Contains(r.stdout, "\n.SS "+c+"\n") {
			t.Errorf("man page has no section for %s", c)
		}
	}
	// It renders without a warning.
	groff := needTool(t, "groff")
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(r.stdout)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}

// writeConfig writes a quickstart-like config with its zones into a temp
// dir; edit changes the YAML text first.
func validateCase(t *testing.T, edit func(dir, yaml string) string) string {
	t.Helper()
	cfg := quickstart(t)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(edit(filepath.Dir(cfg), string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestValidate(t *testing.T) {
	same := func(_, y string) string { return y }
	tests := []struct {
		name string
		edit func(dir, yaml string) string
		code int
		want []string
	}{
		{"quickstart is valid", same, exitOK, []string{
			"ok domain example.org in zone example.org (provider files, from zones:)",
			"mode testing, max_age 604800, id c0a762642c8ff96deabc",
			"is valid: 0 error(s)"}},
		{"zone directory missing", func(_, y string) string {
			return strings.Replace(y, "directory: ./zones", "directory: ./nowhere", 1)
		}, exitError, []string{"error provider files", "nowhere does not exist; create it or fix the path", "is NOT valid: 1 error(s)"}},
		{"zone directory is a file", func(dir, y string) string {
			os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644)
			return strings.Replace(y, "directory: ./zones", "directory: ./plain", 1)
		}, exitError, []string{"plain is not a directory"}},
		{"zone file missing", func(dir, y string) string {
			os.Remove(filepath.Join(dir, "zones", "example.org.zone"))
			return y
		}, exitError, []string{"error zone example.org", "NOT valid"}},
		{"discovered domain without a zone file", func(_, y string) string {
			y = strings.Replace(y, "  example.net: files\n", "", 1)
			y = strings.Replace(y, "  - example.net ", "  - example.io ", 1)
			return y + "provider: files\n"
		}, exitError, []string{"error domain example.io", "holds no zone for example.io", "NOT valid: 1 error(s)"}},
		{"discovered domain found in the zone files", func(_, y string) string {
			y = strings.Replace(y, "  example.net: files\n", "", 1)
			return y + "provider: files\n"
		}, exitOK, []string{"domain example.net in zone example.net (provider files, found among its zone files)"}},
		{"policy file directory missing", func(_, y string) string {
			return strings.Replace(y, "  mx: [mail.example.com]\n", "  mx: [mail.example.com]\n  file: ./www/.well-known/mta-sts.txt\n", 1)
		}, exitError, []string{"error policy.file", "www/.well-known does not exist"}},
		{"secret file missing", func(_, y string) string {
			return strings.Replace(y, "providers:\n", "providers:\n  cf:\n    type: cloudflare\n    api_token_file: ./token\n", 1)
		}, exitError, []string{"error config", "providers.cf.api_token_file: cannot read"}},
		{"remote provider gets a note", func(dir, y string) string {
			os.WriteFile(filepath.Join(dir, "token"), []byte("t0ken-value\n"), 0o600)
			return strings.Replace(y, "providers:\n", "providers:\n  cf:\n    type: cloudflare\n    api_token_file: ./token\n", 1)
		}, exitOK, []string{"note provider cf", "credentials and zones are only tried by a run"}},
		{"bad value", func(_, y string) string { return strings.Replace(y, "mode: testing", "mode: strict", 1) }, exitError, []string{"error config", "policy.mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validateCase(t, tt.edit)
			r := runCLI(t, nil, "validate", "--config", cfg)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tt.code, r.stdout, r.stderr)
			}
			// Columns are padded to line up: compare with single spaces.
			squeezed := regexp.MustCompile(` +`).ReplaceAllString(r.stdout, " ")
			for _, w := range tt.want {
				if !strings.Contains(squeezed, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			if strings.Contains(r.stdout, "t0ken-value") {
				t.Errorf("secret printed:\n%s", r.stdout)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	cfg := validateCase(t, func(_, y string) string { return strings.Replace(y, "directory: ./zones", "directory: ./nowhere", 1) })
	r := runCLI(t, nil, "validate", "--config", cfg, "--output", "json")
	if r.code != exitError {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Config   string `json:"config"`
		Valid    bool   `json:"valid"`
		Findings []struct{ Level, Subject, Message string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if doc.Valid || doc.Config != cfg || len(doc.Findings) == 0 || doc.Findings[0].Level != "error" || doc.Findings[0].Subject != "provider files" {
		t.Errorf("%+v", doc)
	}
}

// TestMissingConfig: the error for a missing config says where one comes
// from, in validate and in every other command, through the real binary.
func TestMissingConfig(t *testing.T) {
	bin := sharedBinary(t)
	dir := t.TempDir()
	for _, args := range [][]string{{"validate"}, {"plan"}, {"validate", "--config", "/nonexistent/mtasts-sync.yaml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "MTASTS_SYNC_CONFIG=")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitError {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
		for _, want := range []string{"no config file at", "--config", "MTASTS_SYNC_CONFIG", "examples/"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
}

// TestDockerfilePinned: every base image of the Dockerfile is pinned by a
// sha256 digest, and .dockerignore keeps every package the binary is built
// from in the build context.
func TestDockerfilePinned(t *testing.T) {
	root := filepath.Join("..", "..")
	df, err := os.ReadFile(filepath.Join(root, "examples", "mailcow-compose", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	pinned := regexp.MustCompile(`^FROM (--platform=\S+ )?\S+:\S+@sha256:[0-9a-f]{64}( AS \S+)?$`)
	froms := 0
	for _, line := range strings.Split(string(df), "\n") {
		if strings.HasPrefix(line, "FROM ") {
			froms++
			if !pinned.MatchString(line) {
				t.Errorf("not pinned by digest: %s", line)
			}
		}
	}
	if froms == 0 {
		t.Fatal("no FROM line")
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, line := range strings.Split(string(ignore), "\n") {
		if strings.HasPrefix(line, "!") {
			allowed[strings.TrimSuffix(line[1:], "/")] = true
		}
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(root)
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(abs, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a module dependency, downloaded in the image
		}
		if top := strings.Split(rel, string(filepath.Separator))[0]; !allowed[top] {
			t.Errorf(".dockerignore leaves out %s, which the binary is built from", rel)
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if !allowed[f] {
			t.Errorf(".dockerignore leaves out %s", f)
		}
	}
}
