package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/urfave/cli/v2"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/metrics"
	"github.com/mtasts-sync/mtasts-sync/internal/render"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"github.com/mtasts-sync/mtasts-sync/providers"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

func newApp(e env) *cli.App {
	domainFlag := &cli.StringSliceFlag{Name: "domain", Usage: "limit the run to this `DOMAIN` (repeatable)"}
	outputFlag := &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output `FORMAT`: text or json"}
	return &cli.App{
		Name:                 "mtasts-sync",
		Usage:                "keep MTA-STS and TLS-RPT DNS records in sync for every mail domain",
		Description:          description,
		Writer:               e.stdout,
		ErrWriter:            e.stderr,
		HideVersion:          true,
		EnableBashCompletion: false,
		ExitErrHandler:       func(*cli.Context, error) {}, // run() owns exit codes
		OnUsageError:         onUsageError,
		Flags:                append(globalFlags(), &cli.BoolFlag{Name: "version", Aliases: []string{"V"}, Usage: "print the version (as the version command does)"}),
		Commands: withGlobal([]*cli.Command{
			{
				Name:  "plan",
				Usage: "show what apply would change, and why (changes nothing)",
				Flags: []cli.Flag{domainFlag, outputFlag, &cli.BoolFlag{Name: "no-publish-gate", Usage: "publish ids without first fetching their policy over HTTPS"}, &cli.BoolFlag{Name: "no-dns-shortcut", Usage: "always read zones through the provider API, even when DNS already shows the desired records"},
					&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 0 when nothing is pending, 2 when changes or conflicts are pending (acknowledged ones aside), 1 on error"},
					&cli.StringFlag{Name: "out", Usage: "also save the plan to `FILE`, for show and apply FILE"}},
				Action: func(c *cli.Context) error { return cmdPlan(c, e) },
			},
			{
				Name:      "apply",
				Usage:     "make every domain's records match the config (safe to run from cron), or apply exactly a saved plan",
				ArgsUsage: "[PLANFILE]",
				Flags: []cli.Flag{domainFlag, outputFlag, &cli.BoolFlag{Name: "no-publish-gate", Usage: "publish ids without first fetching their policy over HTTPS"}, &cli.BoolFlag{Name: "no-dns-shortcut", Usage: "always read zones through the provider API, even when DNS already shows the desired records"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing when nothing changed"},
					&cli.DurationFlag{Name: "lock-wait", Usage: "how long to wait for another run's lock, a `DURATION` like 1m or 30s (0: fail at once)"},
					&cli.StringFlag{Name: "metrics-file", Usage: "also write the run's Prometheus metrics to `FILE` (atomically, for node_exporter's textfile collector)"}},
				Action: func(c *cli.Context) error { return cmdApply(c, e) },
			},
			{
				Name:      "show",
				Usage:     "print a saved plan (no network, no config)",
				ArgsUsage: "PLANFILE",
				Flags:     []cli.Flag{outputFlag},
				Action:    func(c *cli.Context) error { return cmdShow(c, e) },
			},
			{
				Name:   "policy",
				Usage:  "print the policy file and its id",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "write", Usage: "write it to policy.file instead"}},
				Action: func(c *cli.Context) error { return cmdPolicy(c, e) },
			},
			{
				Name:   "domains",
				Usage:  "list the domains, their zone and provider",
				Flags:  []cli.Flag{domainFlag, outputFlag},
				Action: func(c *cli.Context) error { return cmdDomains(c, e) },
			},
			{
				Name:      "check",
				Usage:     "check domains the way a sending MTA sees them (DNS, policy over HTTPS, MX coverage, TLSRPT)",
				ArgsUsage: "[DOMAIN...]",
				Flags: []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output `FORMAT`: text, json or prometheus"},
					&cli.StringFlag{Name: "textfile", Usage: "also write the Prometheus metrics to `FILE` (atomically, for node_exporter's textfile collector)"},
					&cli.BoolFlag{Name: "smtp", Usage: "also connect to each MX on port 25 and check STARTTLS and its certificate"},
					&cli.BoolFlag{Name: "strict", Usage: "exit 1 on warnings too"}},
				Action: func(c *cli.Context) error { return cmdCheck(c, e) },
			},
			{
				Name:   "version",
				Usage:  "print the version, commit, build date and Go version",
				Flags:  []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error { return cmdVersion(c, e) },
			},
			{
				Name:   "validate",
				Usage:  "check the config offline: syntax, values, secrets, zone directories, domain to zone mapping (exit 0 valid, 1 not)",
				Flags:  []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error { return cmdValidate(c, e) },
			},
			{
				Name:      "completion",
				Usage:     "print the shell completion script for bash, zsh or fish",
				ArgsUsage: "bash|zsh|fish",
				Action:    func(c *cli.Context) error { return cmdCompletion(c, e) },
			},
			{
				Name:   "man",
				Usage:  "print the man page (roff), generated from the command definitions",
				Action: func(c *cli.Context) error { return cmdMan(c, e) },
			},
		}),
	}
}

// description heads `--help` and the man page.
const description = `mtasts-sync keeps, for every mail domain D, the DNS records MTA-STS (RFC 8461) and TLS reporting (RFC 8460) need: mta-sts.D (a CNAME to the policy host), _mta-sts.D (the policy id) and _smtp._tls.D (where reports go), through the DNS provider's API, and checks them the way a sending mail server does.

The config is --config, else $MTASTS_SYNC_CONFIG, else ./mtasts-sync.yaml; the package installs an example as /etc/mtasts-sync/mtasts-sync.yaml, and the mtasts-sync.timer systemd unit runs apply every 15 minutes.

Exit codes: 0 done; 1 error (or, for apply, a conflict left alone); 2 plan --detailed-exitcode with changes or conflicts pending; 64 a usage error (unknown command or flag, a bad flag value, arguments the command does not take).`

// globalFlags are accepted before and after the command name, so both
// `mtasts-sync --config f plan` and `mtasts-sync plan --config f` work:
// normalizeArgs moves them behind the command, where every command defines
// them. None reads the environment through urfave/cli (see configPath).
func globalFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "config `FILE` (default: $" + configEnv + ", else " + defaultConfig + ")"},
		&cli.BoolFlag{Name: "no-color", Usage: "never colour the output (also: NO_COLOR)"},
		&cli.StringFlag{Name: "resolver", Usage: "DNS server `HOST:PORT` to ask (default: the system's)", Action: checkResolver},
		&cli.IntFlag{Name: "concurrency", Usage: "read or write at most `N` zones of one provider account at once", DefaultText: "per provider type", Action: checkConcurrency},
		&cli.StringFlag{Name: "ca-file", Usage: "also trust the CA certificates in `FILE` (PEM) when fetching policies"},
	}, logFlags()...)
}

// checkResolver refuses a --resolver that is not HOST:PORT before any
// lookup, as a usage error: otherwise every lookup of the run fails with
// the same dial error, one check line at a time.
func checkResolver(c *cli.Context, v string) error {
	host, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err == nil && host != "" && perr == nil && n > 0 && n <= 65535 {
		return nil
	}
	return usageError{msg: fmt.Sprintf("--resolver %q: want the DNS server as HOST:PORT, e.g. 127.0.0.1:53 or [::1]:53", v), help: flagHelp(c)}
}

// checkConcurrency refuses a --concurrency below 1, which would otherwise
// silently mean the default.
func checkConcurrency(c *cli.Context, n int) error {
	if n >= 1 {
		return nil
	}
	return usageError{msg: fmt.Sprintf("--concurrency %d: want 1 or more zones at once", n), help: flagHelp(c)}
}

// flagHelp is the command line whose --help explains a flag being checked.
func flagHelp(c *cli.Context) string {
	if c.Command != nil && c.Command.Name != "" {
		return c.App.Name + " " + c.Command.Name
	}
	return c.App.Name
}

// withGlobal adds the global flags to every command.
func withGlobal(cmds []*cli.Command) []*cli.Command {
	for _, c := range cmds {
		c.Flags = append(c.Flags, globalFlags()...)
		c.OnUsageError = onUsageError
		if _, ok := indexFlags(c.Flags)["output"]; ok && c.Before == nil {
			c.Before = checkOutput
		}
	}
	return cmds
}

// The config file: --config/-c as typed, else the variable, else the default.
const (
	configEnv     = "MTASTS_SYNC_CONFIG"
	defaultConfig = "mtasts-sync.yaml"
)

// configPath is the config file to read and whether the user named it
// (by flag or variable); a flag typed on the command line beats the
// variable.
func configPath(c *cli.Context, e env) (path string, named bool) {
	if c.IsSet("config") {
		return c.String("config"), true
	}
	if v := e.getenv(configEnv); v != "" {
		return v, true
	}
	return defaultConfig, false
}

// prepare loads the config and builds the engine: all a command needs
// before it sends anything anywhere.
func prepare(c *cli.Context, e env) (*config.Config, *engine.Engine, error) {
	if err := checkOutput(c); err != nil {
		return nil, nil, err
	}
	cfg, err := loadConfig(c, e)
	if err != nil {
		return nil, nil, err
	}
	eng, err := newEngine(c, e, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, eng, nil
}

// loadConfig reads and validates the config; nothing is sent anywhere yet.
func loadConfig(c *cli.Context, e env) (*config.Config, error) {
	path, named := configPath(c, e)
	if err := missingConfig(path, named); err != nil {
		return nil, fail(err, exitError)
	}
	opts := engine.ConfigOptions()
	opts.Now = e.now
	cfg, err := config.Load(path, opts)
	if err != nil {
		return nil, fail(err, exitError)
	}
	return cfg, nil
}

func newEngine(c *cli.Context, e env, cfg *config.Config) (*engine.Engine, error) {
	var only []string
	for _, d := range c.StringSlice("domain") {
		n, err := dnsname.Normalize(d)
		if err != nil {
			return nil, fail(fmt.Errorf("--domain %q: %w", d, err), exitError)
		}
		only = append(only, n)
	}
	var eng *engine.Engine
	sink, err := newLogSink(c, e, apiCounters(&eng))
	if err != nil { // a --log-level or --log-format value
		return nil, usageError{msg: err.Error(), help: c.App.Name + " " + c.Command.Name}
	}
	pool, err := rootCAs(c.String("ca-file"))
	if err != nil {
		return nil, fail(err, exitError)
	}
	eng, err = engine.New(c.Context, cfg, engine.Options{
		Only:          only,
		Resolver:      c.String("resolver"),
		Concurrency:   c.Int("concurrency"),
		Log:           sink.log,
		Progress:      sink.progress(),
		NoPublishGate: c.Bool("no-publish-gate"),
		DNSShortcut:   dnsShortcut(c),
		Dialer:        e.dialer,
		HTTPSPort:     e.httpsPort,
		RootCAs:       pool,
		Providers:     providers.Options{Transport: e.transport},
		Now:           e.now,
	})
	if err != nil {
		return nil, fail(err, exitError)
	}
	return eng, nil
}

// dnsShortcut is on for plan and apply unless --no-dns-shortcut. It only
// ever spares reads of rate-limited APIs (not zone files, not RFC 2136).
func dnsShortcut(c *cli.Context) bool {
	switch c.Command.Name {
	case "plan", "apply":
		return !c.Bool("no-dns-shortcut")
	}
	return false
}

func style(c *cli.Context, e env) render.Style {
	if c.Bool("no-color") || e.getenv("NO_COLOR") != "" {
		return render.Style{}
	}
	if e.terminal != nil {
		return render.Style{Color: e.terminal(e.stdout)}
	}
	f, ok := e.stdout.(*os.File)
	if !ok {
		return render.Style{}
	}
	fi, err := f.Stat()
	return render.Style{Color: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func writePlan(c *cli.Context, e env, p reconcile.Plan) error {
	switch c.String("output") {
	case "json":
		return render.JSON(e.stdout, p)
	case "text", "":
		return render.Text(e.stdout, p, style(c, e))
	}
	return fail(fmt.Errorf("--output %q: want text or json", c.String("output")), exitError)
}

func cmdPlan(c *cli.Context, e env) error {
	cfg, eng, err := prepare(c, e)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := checkPlanOut(c.String("out")); err != nil {
		return fail(err, exitError)
	}
	run, err := eng.Plan(c.Context)
	if err != nil {
		return fail(err, exitError)
	}
	if err := writePlan(c, e, run.Plan); err != nil {
		return err
	}
	if out := c.String("out"); out != "" {
		if err := savePlan(out, cfg, run.Plan, e); err != nil {
			return fail(err, exitError)
		}
	}
	eng.Summary(run, time.Since(start)).Log(eng.Log())
	sum := run.Plan.Summary()
	switch {
	case sum.Errors > 0:
		return exit(exitError)
	case c.Bool("detailed-exitcode") && sum.Create+sum.Update+sum.Delete+sum.Conflict > 0:
		return exit(exitChanges)
	}
	return nil
}

func cmdApply(c *cli.Context, e env) error {
	if c.NArg() == 1 {
		return cmdApplySaved(c, e, c.Args().First())
	}
	cfg, eng, err := prepare(c, e)
	if err != nil {
		return err
	}
	unlock, m, err := beginApply(c, cfg.Path)
	if err != nil {
		return err
	}
	defer unlock()
	start := time.Now()
	run, err := eng.Plan(c.Context)
	if err != nil {
		return fail(m.failed(err, start), exitError)
	}
	sum := run.Plan.Summary()
	// Acknowledged conflicts are not news; an ignore: entry gone stale is.
	quiet := c.Bool("quiet") && !run.Plan.Pending() && sum.Conflict == 0 && sum.Errors == 0 && len(run.UnusedIgnores) == 0
	rep := eng.Apply(c.Context, run)
	summary := eng.Summary(run, time.Since(start))
	summary.Log(eng.Log())
	if !quiet {
		if err := writeApply(c, e, run.Plan, rep, summary, nil); err != nil {
			return err
		}
	}
	if err := m.finished(c, run.Plan, rep, summary); err != nil {
		return err
	}
	return applyExit(c, rep, sum)
}

// lockConfig takes the lock of the config at path: two applies on one
// config never overlap.
func lockConfig(c *cli.Context, path string) (unlock func(), err error) {
	unlock, err = lock(c.Context, lockPath(path), c.Duration("lock-wait"))
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		unlock, err = lock(c.Context, fallbackLockPath(path), c.Duration("lock-wait"))
	}
	if err != nil {
		return nil, fail(err, exitError)
	}
	return unlock, nil
}

// applyExit is apply's exit: 1 on any error, a conflict left alone, or an
// interrupt.
func applyExit(c *cli.Context, rep engine.Report, sum reconcile.Summary) error {
	switch {
	case rep.Err != nil:
		return fail(rep.Err, exitError)
	case sum.Conflict > 0:
		return fail(fmt.Errorf("%d conflict(s) left alone: see the plan", sum.Conflict), exitError)
	case c.Context.Err() != nil:
		return fail(fmt.Errorf("interrupted: %w", c.Context.Err()), exitError)
	}
	return nil
}

// beginApply is what every apply does before it touches anything: take
// the config's run lock, and read the --metrics-file of a previous apply (a
// file that is not ours is refused here; one of ours remembers the last
// successful apply).
func beginApply(c *cli.Context, cfgPath string) (unlock func(), m applyMetrics, err error) {
	unlock, err = lockConfig(c, cfgPath)
	if err != nil {
		return nil, m, err
	}
	if m.path = c.String("metrics-file"); m.path != "" {
		if m.prev, err = metrics.ReadOurs(m.path); err != nil {
			unlock()
			return nil, m, fail(fmt.Errorf("--metrics-file: %w", err), exitError)
		}
	}
	return unlock, m, nil
}

// applyMetrics writes an apply run's metrics to --metrics-file, if one
// was given, keeping what the previous file remembered.
type applyMetrics struct {
	path string
	prev map[string]*dto.MetricFamily
}

func (m applyMetrics) write(run metrics.ApplyRun) error {
	if m.path == "" {
		return nil
	}
	if err := metrics.WriteFile(m.path, metrics.Apply(run, m.prev)); err != nil {
		return fmt.Errorf("--metrics-file: %w", err)
	}
	return nil
}

// failed records a run that stopped before it wrote anything (the plan
// could not be made, or a saved plan was refused) and returns err, joined
// with the metrics file's own error if any.
func (m applyMetrics) failed(err error, start time.Time) error {
	if werr := m.write(metrics.ApplyRun{Failed: true, Duration: time.Since(start), Now: time.Now()}); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// finished records a run that applied its plan.
func (m applyMetrics) finished(c *cli.Context, p reconcile.Plan, rep engine.Report, summary engine.Summary) error {
	if err := m.write(metrics.ApplyRun{
		Plan: p, Results: rep.Results, Failed: rep.Err != nil || c.Context.Err() != nil,
		API: summary.API, Duration: summary.Wall, Now: time.Now(),
	}); err != nil {
		return fail(errors.Join(rep.Err, err), exitError)
	}
	return nil
}

// checkOutput refuses an --output format we cannot write: a usage error,
// found before anything is read or sent.
func checkOutput(c *cli.Context) error {
	switch c.String("output") {
	case "text", "json", "":
		return nil
	case "prometheus":
		if c.Command.Name == "check" {
			return nil
		}
	}
	want := "text or json"
	if c.Command.Name == "check" {
		want = "text, json or prometheus"
	}
	return usageError{msg: fmt.Sprintf("--output %q: want %s", c.String("output"), want), help: c.App.Name + " " + c.Command.Name}
}

// writeApply prints the plan that was applied and what came of it; saved
// says where a saved plan came from (nil for a fresh one).
func writeApply(c *cli.Context, e env, p reconcile.Plan, rep engine.Report, sum engine.Summary, saved *render.Saved) error {
	if c.String("output") == "json" {
		return writeApplyJSON(e.stdout, p, rep, sum, saved)
	}
	if saved != nil {
		writeSavedHead(e.stdout, *saved)
	}
	if err := render.Text(e.stdout, p, style(c, e)); err != nil {
		return err
	}
	applied, zones := 0, 0
	for _, ch := range rep.HeldAtApply {
		fmt.Fprintf(e.stdout, "Held back at apply time: %s %s (%s).\n", ch.Name, ch.Type, ch.Reason)
	}
	for _, d := range rep.MailcowPolicies {
		fmt.Fprintf(e.stdout, "mailcow policy of %s written.\n", d)
	}
	for _, r := range rep.Results {
		applied += len(r.Applied)
		if len(r.Applied) > 0 {
			zones++
		}
	}
	if rep.PolicyFile != "" {
		fmt.Fprintf(e.stdout, "Policy file %s written.\n", rep.PolicyFile)
	}
	for _, f := range rep.PolicyFiles {
		fmt.Fprintf(e.stdout, "Policy file %s written.\n", f)
	}
	if applied > 0 || p.Pending() {
		fmt.Fprintf(e.stdout, "Applied %d change(s) in %d zone(s).\n", applied, zones)
	}
	for _, d := range rep.Retired {
		fmt.Fprintf(e.stdout, "%s is retired: its records are removed; you can now remove it from retire: (and from mailcow, if it is there).\n", d)
	}
	return nil
}

// applyJSON is the JSON document of apply: the plan's document plus what
// happened.
type applyJSON struct {
	render.Doc
	PolicyFile string `json:"policy_file,omitempty"`
	// PolicyFiles are the files written under policy.dir.
	PolicyFiles []string `json:"policy_files,omitempty"`
	// Retired are the domains whose records were removed: they can leave
	// retire: (and mailcow).
	Retired         []string           `json:"retired,omitempty"`
	MailcowPolicies []string           `json:"mailcow_policies"`
	HeldAtApply     []reconcile.Change `json:"held_at_apply"`
	Results         []zoneResult       `json:"results"`
	Run             engine.Summary     `json:"run"`
	Error           string             `json:"error,omitempty"`
}

type zoneResult struct {
	Zone       string             `json:"zone"`
	Provider   string             `json:"provider"`
	Applied    []reconcile.Change `json:"applied"`
	NotApplied []reconcile.Change `json:"not_applied"`
	Error      string             `json:"error,omitempty"`
}

func writeApplyJSON(w io.Writer, p reconcile.Plan, rep engine.Report, sum engine.Summary, saved *render.Saved) error {
	doc := applyJSON{Doc: render.NewDoc(p), Results: []zoneResult{}, PolicyFile: rep.PolicyFile, PolicyFiles: rep.PolicyFiles, Retired: rep.Retired, Run: sum,
		MailcowPolicies: rep.MailcowPolicies, HeldAtApply: orEmpty(rep.HeldAtApply)}
	doc.Saved = saved
	if doc.MailcowPolicies == nil {
		doc.MailcowPolicies = []string{}
	}
	for _, r := range rep.Results {
		zr := zoneResult{Zone: r.Zone, Provider: r.Provider, Applied: orEmpty(r.Applied), NotApplied: orEmpty(r.NotApplied)}
		if r.Err != nil {
			zr.Error = r.Err.Error()
		}
		doc.Results = append(doc.Results, zr)
	}
	if rep.Err != nil {
		doc.Error = rep.Err.Error()
	}
	return render.Encode(w, doc)
}

func orEmpty(cs []reconcile.Change) []reconcile.Change {
	out := make([]reconcile.Change, len(cs))
	for i, c := range cs {
		out[i] = render.ChangeDoc(c)
	}
	return out
}

func cmdPolicy(c *cli.Context, e env) error {
	cfg, eng, err := prepare(c, e)
	if err != nil {
		return err
	}
	p, err := eng.Policy()
	if err != nil {
		return fail(err, exitError)
	}
	if !c.Bool("write") {
		fmt.Fprintf(e.stdout, "# id: %s\n", p.ID())
		_, err := e.stdout.Write(p.Render())
		return err
	}
	if cfg.Policy.Dir != "" {
		return fail(fmt.Errorf("%s: policy.dir holds one file per domain, and apply writes them (with the records they need); policy --write only writes policy.file", cfg.Path), exitError)
	}
	if cfg.Policy.File == "" {
		return fail(fmt.Errorf("%s: policy.file is not set: add file: <path> under policy: for --write to write the policy there (or run policy without --write to print it)", cfg.Path), exitError)
	}
	if err := safefile.WriteFile(cfg.Policy.File, p.Render(), 0o644); err != nil {
		return fail(fmt.Errorf("writing %s: %w", cfg.Policy.File, err), exitError)
	}
	fmt.Fprintf(e.stdout, "wrote %s (id %s)\n", cfg.Policy.File, p.ID())
	return nil
}

func cmdDomains(c *cli.Context, e env) error {
	_, eng, err := prepare(c, e)
	if err != nil {
		return err
	}
	inv, err := eng.Inventory(c.Context)
	if err != nil {
		return fail(err, exitError)
	}
	var errs []error
	for _, t := range inv.Targets {
		if t.Err != nil {
			errs = append(errs, t.Err)
		}
	}
	if c.String("output") == "json" {
		type row struct {
			engine.Target
			Error string `json:"error,omitempty"`
		}
		doc := struct {
			PolicyHost string              `json:"policy_host"`
			Domains    []row               `json:"domains"`
			Skipped    []reconcile.Skipped `json:"skipped"`
		}{PolicyHost: inv.PolicyHost, Domains: []row{}, Skipped: inv.Skipped}
		if doc.Skipped == nil {
			doc.Skipped = []reconcile.Skipped{}
		}
		for _, t := range inv.Targets {
			r := row{Target: t}
			if t.Err != nil {
				r.Error = t.Err.Error()
			}
			doc.Domains = append(doc.Domains, r)
		}
		if err := writeJSON(e.stdout, doc); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DOMAIN\tZONE\tPROVIDER\tSOURCE\tPOLICY ID")
		for _, t := range inv.Targets {
			zone, source := t.Zone, t.Source
			if t.Discovered {
				zone += " (found)"
			}
			if t.AliasOf != "" {
				source += " (alias of " + t.AliasOf + ")"
			}
			if t.Err != nil {
				// The error may quote a provider's message.
				fmt.Fprintf(tw, "%s\terror: %s\t\t\t\n", t.Domain, render.PrintableLine(t.Err.Error()))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Domain, zone, t.Provider, source, t.PolicyID)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, s := range inv.Skipped {
			fmt.Fprintf(e.stdout, "skipped %s: %s\n", render.PrintableLine(s.Domain), render.PrintableLine(s.Reason))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fail(err, exitError)
	}
	return nil
}

// lockPath is the lock file beside the config (its real path, so a
// symlink to it takes the same lock): two runs on one config never
// overlap while runs on different configs do not block each other.
func lockPath(configPath string) string {
	if real, err := filepath.EvalSymlinks(configPath); err == nil {
		configPath = real
	}
	dir, file := filepath.Split(configPath)
	return filepath.Join(dir, "."+file+".lock")
}

// fallbackLockPath is where the lock goes when the config's directory is
// not writable (e.g. /etc for a cron user): a name in the temporary
// directory derived from the config's real path.
func fallbackLockPath(configPath string) string {
	abs, err := filepath.Abs(configPath)
	if err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(os.TempDir(), fmt.Sprintf("mtasts-sync-%x.lock", sum[:8]))
}
