package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/planfile"
	"github.com/mtasts-sync/mtasts-sync/internal/render"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// Saved plans: `plan --out F` saves what it printed, `show F` prints it
// again without any network, `apply F` applies exactly it or refuses.

// savePlan writes p to path as a plan file.
func savePlan(path string, cfg *config.Config, p reconcile.Plan, e env) error {
	content, err := safefile.ReadFile(cfg.Path, config.MaxConfigFile)
	if err != nil {
		return fmt.Errorf("saving the plan: reading the config again: %w", err)
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	now := time.Now
	if e.now != nil {
		now = e.now
	}
	if err := checkPlanOut(path); err != nil {
		return err
	}
	f := planfile.New(p, planfile.Meta{ToolVersion: buildVersion(), Created: now(), ConfigPath: abs, ConfigContent: content, Config: cfg})
	data, err := f.Marshal()
	if err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	if err := safefile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("saving the plan to %s: %w", path, err)
	}
	return nil
}

// checkPlanOut refuses to save a plan over a file that is not a saved
// plan (a typo such as `plan --out mtasts-sync.yaml` would replace the
// config): an existing file must be empty or a plan file. "" is fine.
func checkPlanOut(path string) error {
	if path == "" {
		return nil
	}
	old, err := safefile.ReadFile(path, planfile.MaxSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("saving the plan to %s: %w", path, err)
	case len(old) > 0 && !planfile.Looks(old):
		return fmt.Errorf("saving the plan to %s: it exists and is not a saved plan; mtasts-sync replaces only a plan file: remove it or give another path", path)
	}
	return nil
}

// loadPlan reads a plan file, or fails with exit code 1.
func loadPlan(path string) (planfile.File, *render.Saved, error) {
	f, err := planfile.Load(path)
	if err != nil {
		return planfile.File{}, nil, fail(fmt.Errorf("saved plan %s", err), exitError)
	}
	return f, &render.Saved{File: path, Created: f.Created.Format(time.RFC3339), ToolVersion: f.ToolVersion,
		ConfigPath: f.Config.Path, ConfigSHA256: f.Config.SHA256}, nil
}

func writeSavedHead(w io.Writer, s render.Saved) {
	// A plan file may come from elsewhere: what it says is escaped.
	fmt.Fprint(w, render.PrintableLine(fmt.Sprintf("Saved plan %s, made %s by mtasts-sync %s from %s.", s.File, s.Created, s.ToolVersion, s.ConfigPath))+"\n")
}

func cmdShow(c *cli.Context, e env) error {
	if err := checkOutput(c); err != nil {
		return err
	}
	f, saved, err := loadPlan(c.Args().First())
	if err != nil {
		return err
	}
	p := f.Plan()
	if c.String("output") == "json" {
		doc := render.NewDoc(p)
		doc.Saved = saved
		return render.Encode(e.stdout, doc)
	}
	writeSavedHead(e.stdout, *saved)
	return render.Text(e.stdout, p, style(c, e))
}

// cmdApplySaved applies the plan saved at path, with the credentials of
// the config it names (or --config) and nothing else from that config.
func cmdApplySaved(c *cli.Context, e env, path string) error {
	if err := checkOutput(c); err != nil {
		return err
	}
	if len(c.StringSlice("domain")) > 0 {
		return usageError{msg: "--domain cannot narrow a saved plan: it applies what was reviewed, all of it; run plan --domain … --out FILE instead", help: "mtasts-sync apply"}
	}
	f, saved, err := loadPlan(path)
	if err != nil {
		return err
	}
	cfgPath := f.Config.Path
	if c.IsSet("config") {
		cfgPath = c.String("config")
	}
	opts := engine.ConfigOptions()
	opts.Now = e.now
	cfg, err := config.Load(cfgPath, opts)
	if err != nil {
		return fail(fmt.Errorf("saved plan %s: its config: %w", path, err), exitError)
	}
	if err := providersMatch(f, cfg); err != nil {
		return fail(fmt.Errorf("saved plan %s: %w", path, err), exitError)
	}
	if content, err := safefile.ReadFile(cfg.Path, config.MaxConfigFile); err == nil && reconcile.FingerprintBytes(content) != f.Config.SHA256 {
		fmt.Fprintf(e.stderr, "mtasts-sync: note: %s changed since the plan was made; apply takes its credentials from it, holds the saved plan against it, and applies only the saved plan\n", cfg.Path)
	}
	eng, err := newEngine(c, e, cfg)
	if err != nil {
		return err
	}
	unlock, m, err := beginApply(c, cfg.Path)
	if err != nil {
		return err
	}
	defer unlock()
	start := time.Now()
	run := &engine.Run{Plan: f.Plan()}
	rep, err := eng.ApplySaved(c.Context, run)
	if err != nil {
		return fail(m.failed(fmt.Errorf("saved plan %s: %w", path, err), start), exitError)
	}
	summary := eng.Summary(run, time.Since(start))
	summary.Log(eng.Log())
	sum := run.Plan.Summary()
	quiet := c.Bool("quiet") && !run.Plan.Pending() && sum.Conflict == 0 && sum.Errors == 0 && len(rep.HeldAtApply) == 0
	if !quiet {
		if err := writeApply(c, e, run.Plan, rep, summary, saved); err != nil {
			return err
		}
	}
	if err := m.finished(c, run.Plan, rep, summary); err != nil {
		return err
	}
	return applyExit(c, rep, sum)
}

// providersMatch refuses a config whose provider accounts the plan writes
// through are gone, or changed type or non-secret settings (another
// account, another server). New secrets are fine: that is what apply takes.
func providersMatch(f planfile.File, cfg *config.Config) error {
	names := make([]string, 0, len(f.Config.Providers))
	for n := range f.Config.Providers {
		names = append(names, n)
	}
	sort.Strings(names)
	var moved []string
	// Every account the plan writes through is recorded: one left out of
	// the file would not be compared at all.
	for _, z := range f.Zones {
		if _, ok := f.Config.Providers[z.Provider]; !ok && slices.ContainsFunc(z.Changes, func(c planfile.Change) bool { return reconcile.Change{Action: c.Action}.Applies() }) {
			moved = append(moved, fmt.Sprintf("zone %s: the plan does not record what provider %s was when planned: the file was edited", z.Zone, z.Provider))
		}
	}
	for _, n := range names {
		pc, ok := cfg.Providers[n]
		switch {
		case !ok:
			moved = append(moved, fmt.Sprintf("provider %s is no longer in %s", n, cfg.Path))
		case planfile.ProviderPrint(pc) != f.Config.Providers[n]:
			moved = append(moved, fmt.Sprintf("provider %s in %s changed its type or settings (another account or server)", n, cfg.Path))
		}
	}
	if len(moved) > 0 {
		return &engine.StaleError{Moved: moved}
	}
	return nil
}
