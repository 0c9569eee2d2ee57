// Package engine runs the main job: it gathers the domains, finds their
// zones, reads the zones through their providers, asks the reconciler for
// a plan, and applies it: the policy first, then every zone. It is the
// only place that does I/O on the reconciler's behalf.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/providers"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// Options tune one run.
type Options struct {
	// Only limits the run to these domains (normalised); empty means all.
	Only []string
	// Resolver is the DNS server ("host:port") used to find zones; "" is
	// the system's.
	Resolver string
	// Concurrency bounds how many zones are read or written at once.
	Concurrency int
	Log         *slog.Logger
	// Transport carries the providers' HTTP requests where they accept one.
	Transport providers.Options
}

// Engine runs plan and apply for one config.
type Engine struct {
	cfg       *config.Config
	opts      Options
	providers map[string]*providers.Provider
}

// New builds every provider the config names. Bad settings are reported
// here, before anything is sent anywhere.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Engine, error) {
	if opts.Concurrency < 1 {
		opts.Concurrency = 4
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, opts: opts, providers: map[string]*providers.Provider{}}
	names := make([]string, 0, len(cfg.Providers))
	for name := range cfg.Providers {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		pc := cfg.Providers[name]
		po := opts.Transport
		po.BaseDir = cfg.Dir
		p, err := providers.Build(ctx, name, pc.Type, pc.Settings, po)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", cfg.Path, pc.Line, err))
			continue
		}
		e.providers[name] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// Policy returns the policy the config publishes.
func (e *Engine) Policy() mtasts.Policy { return e.cfg.Policy.MTASTS() }

// Assignment is one mail domain and where its records live.
type Assignment struct {
	Domain   string `json:"domain"`
	Zone     string `json:"zone"`
	Provider string `json:"provider"`
	// Discovered says the zone was found at run time, not given in zones:.
	Discovered bool  `json:"zone_discovered,omitempty"`
	Err        error `json:"-"`
}

// Domains returns every domain of the run with its zone and provider, and
// the domains skipped with their reason.
func (e *Engine) Domains(ctx context.Context) ([]Assignment, []reconcile.Skipped, error) {
	names := e.cfg.Domains
	if len(e.opts.Only) > 0 {
		known := map[string]bool{}
		for _, d := range names {
			known[d] = true
		}
		names = nil
		var unknown []string
		for _, d := range e.opts.Only {
			if known[d] {
				names = append(names, d)
			} else {
				unknown = append(unknown, d)
			}
		}
		if len(unknown) > 0 {
			return nil, nil, fmt.Errorf("--domain %v: not among the config's domains", unknown)
		}
	}
	out := make([]Assignment, len(names))
	for i, d := range names {
		out[i] = e.assign(ctx, d)
	}
	return out, nil, nil
}

func (e *Engine) assign(ctx context.Context, domain string) Assignment {
	if zone, prov, ok := e.cfg.ZoneFor(domain); ok {
		return Assignment{Domain: domain, Zone: zone, Provider: prov}
	}
	a := Assignment{Domain: domain, Provider: e.cfg.Provider, Discovered: true}
	p, ok := e.providers[e.cfg.Provider]
	if !ok {
		a.Err = fmt.Errorf("domain %s: no zone under zones: holds it and no default provider: is set", domain)
		return a
	}
	a.Zone, a.Err = p.FindZone(ctx, domain, e.opts.Resolver)
	return a
}

// Run is a plan and what applying it needs.
type Run struct {
	Plan   reconcile.Plan
	policy mtasts.Policy
	// writeFile is set when the policy file must be (re)written.
	writeFile bool
}

// Plan reads every zone and returns what apply would change.
func (e *Engine) Plan(ctx context.Context) (*Run, error) {
	assignments, skipped, err := e.Domains(ctx)
	if err != nil {
		return nil, err
	}
	policy := e.Policy()
	run := &Run{policy: policy}
	run.Plan.Skipped = skipped
	run.Plan.Warnings = append(run.Plan.Warnings, e.cfg.Warnings...)
	if e.cfg.Policy.File != "" {
		step, changed, err := policyFileStep(e.cfg.Policy.File, policy)
		if err != nil {
			return nil, err
		}
		if changed {
			run.Plan.Steps = append(run.Plan.Steps, step)
			run.writeFile = true
		}
	}

	spec := e.spec(assignments)
	type zoneKey struct{ zone, provider string }
	groups := map[zoneKey][]reconcile.Domain{}
	var keys []zoneKey
	for _, a := range assignments {
		if a.Err != nil {
			run.Plan.Zones = append(run.Plan.Zones, reconcile.ZonePlan{Zone: "(unknown)", Provider: a.Provider, Domains: []string{a.Domain}, Err: a.Err})
			continue
		}
		k := zoneKey{a.Zone, a.Provider}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], reconcile.Domain{Name: a.Domain, Zone: a.Zone, Provider: a.Provider, PolicyID: policy.ID()})
	}
	plans := make([]reconcile.ZonePlan, len(keys))
	e.each(ctx, len(keys), func(i int) {
		k := keys[i]
		z := e.providers[k.provider].Zone(k.zone)
		live, err := z.Records(ctx)
		if err != nil {
			plans[i] = reconcile.ZonePlan{Zone: k.zone, Provider: k.provider, Err: fmt.Errorf("provider %s: %w", k.provider, err)}
			for _, d := range groups[k] {
				plans[i].Domains = append(plans[i].Domains, d.Name)
			}
			return
		}
		plans[i] = reconcile.PlanZone(spec, k.zone, k.provider, groups[k], live)
	})
	run.Plan.Zones = append(run.Plan.Zones, plans...)
	run.Plan.Sort()
	return run, nil
}

func (e *Engine) spec(assignments []Assignment) reconcile.Spec {
	s := reconcile.Spec{
		PolicyHost: e.cfg.PolicyHost,
		Layout:     reconcile.Layout(e.cfg.Layout),
		Primary:    e.cfg.Primary,
		TTL:        e.cfg.TTL,
		Managed:    map[string]bool{},
	}
	if e.cfg.TLSRPT != nil {
		s.TLSRPT = mtasts.TLSRPTRecord{RUA: e.cfg.TLSRPT.RUA}.String()
	}
	for _, a := range assignments {
		s.Managed[a.Domain] = true
	}
	return s
}

// Report is what apply did.
type Report struct {
	Results []reconcile.Result
	// PolicyFile is set when the policy file was written.
	PolicyFile string
	Err        error
}

// Apply publishes the policy, then writes every zone's changes. A zone
// that fails does not stop the others; every failure is in the report's
// error. Zones whose read failed at plan time count as failures.
func (e *Engine) Apply(ctx context.Context, run *Run) Report {
	var rep Report
	if run.writeFile {
		if err := WriteFileAtomic(e.cfg.Policy.File, run.policy.Render()); err != nil {
			rep.Err = fmt.Errorf("writing the policy file (no DNS record was changed, so no id points at a policy that is not there): %w", err)
			return rep
		}
		rep.PolicyFile = e.cfg.Policy.File
		e.opts.Log.Info("policy file written", "file", e.cfg.Policy.File, "id", run.policy.ID())
	}
	var errs []error
	var todo []reconcile.ZonePlan
	for _, zp := range run.Plan.Zones {
		switch {
		case zp.Err != nil:
			errs = append(errs, zp.Err)
		case zp.Pending():
			todo = append(todo, zp)
		}
	}
	results := make([]reconcile.Result, len(todo))
	e.each(ctx, len(todo), func(i int) {
		zp := todo[i]
		results[i] = reconcile.Apply(ctx, zp, e.providers[zp.Provider].Zone(zp.Zone))
		e.opts.Log.Info("zone applied", "zone", zp.Zone, "provider", zp.Provider, "changes", len(results[i].Applied), "error", results[i].Err)
	})
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	rep.Results = results
	rep.Err = errors.Join(errs...)
	return rep
}

// each runs f for 0..n-1 on at most Concurrency goroutines.
func (e *Engine) each(ctx context.Context, n int, f func(i int)) {
	sem := make(chan struct{}, e.opts.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// policyFileStep compares the policy file on disk with the one we render.
func policyFileStep(path string, p mtasts.Policy) (reconcile.Step, bool, error) {
	want := p.Render()
	step := reconcile.Step{Kind: "policy-file", Target: path, New: []string{"id " + p.ID()}}
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		step.Action = reconcile.Create
		return step, true, nil
	case err != nil:
		return step, false, fmt.Errorf("policy.file: %w", err)
	case string(old) == string(want):
		return step, false, nil
	}
	step.Action = reconcile.Update
	if op, _, err := mtasts.ParsePolicy(old); err == nil {
		step.Old = []string{"id " + op.ID()}
	} else {
		step.Old = []string{"unparsable: " + err.Error()}
	}
	return step, true, nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, so a web server never serves half a policy.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".mta-sts-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
