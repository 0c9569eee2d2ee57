package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// Report is what apply did.
type Report struct {
	Results []reconcile.Result
	// PolicyFile is set when the policy file was written.
	PolicyFile string
	// MailcowPolicies lists the domains whose mailcow entry was written.
	MailcowPolicies []string
	Err             error
}

// Apply publishes the policy, then writes every zone's changes. A zone that
// fails does not stop the others; every failure is in the report's error.
// Zones whose read failed at plan time count as failures. If the policy
// cannot be published, no DNS record changes: an id must never point at a
// policy senders cannot fetch.
func (e *Engine) Apply(ctx context.Context, run *Run) Report {
	var rep Report
	held, mailcowErrs, err := e.publish(ctx, run, &rep)
	if err != nil {
		rep.Err = fmt.Errorf("%w (no DNS record was changed, so no id points at a policy that is not served)", err)
		return rep
	}
	if run.stepsPending() {
		// The policy just changed where senders fetch it: hold back every id
		// whose policy is not served as published yet.
		plans := make([]reconcile.ZonePlan, len(run.zones))
		idx := map[string]int{}
		for i, zs := range run.zones {
			idx[zs.zone+" "+zs.provider] = i
		}
		for _, zp := range run.Plan.Zones {
			if i, ok := idx[zp.Zone+" "+zp.Provider]; ok {
				plans[i] = zp
			}
		}
		e.gateIDs(ctx, run, plans, true, held)
		for i, zp := range run.Plan.Zones {
			if j, ok := idx[zp.Zone+" "+zp.Provider]; ok {
				run.Plan.Zones[i] = plans[j]
			}
		}
	}
	errs := mailcowErrs
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
	e.perZone(len(todo), func(i int) {
		zp := todo[i]
		p := e.providers[zp.Provider]
		release, err := p.Acquire(ctx)
		if err != nil {
			results[i] = reconcile.Result{Zone: zp.Zone, Provider: zp.Provider, Err: fmt.Errorf("zone %s (provider %s): not started: %w", zp.Zone, zp.Provider, err)}
			return
		}
		defer release()
		results[i] = reconcile.Apply(ctx, zp, p.Zone(zp.Zone))
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

// publish writes the policy where senders fetch it. The policy file is one
// for every domain: if it cannot be written, nothing else may change
// (err). A mailcow entry is per domain: one that cannot be written holds
// back that domain's id, and its alias domains', while the others go on.
func (e *Engine) publish(ctx context.Context, run *Run, rep *Report) (held map[string]string, errs []error, err error) {
	if run.policyFile != nil {
		if err := WriteFileAtomic(e.cfg.Policy.File, run.policyFile.Render()); err != nil {
			return nil, nil, fmt.Errorf("writing the policy file: %w", err)
		}
		rep.PolicyFile = e.cfg.Policy.File
		e.opts.Log.Info("policy file written", "file", e.cfg.Policy.File, "id", run.policyFile.ID())
	}
	held = map[string]string{}
	for _, s := range run.mailcowSTS {
		var err error
		if s.add {
			err = e.mailcow.AddSTS(ctx, s.sts)
		}
		// An inactive entry serves nothing, like no entry at all: adding it
		// finds it there, and editing it (active again) is what was meant.
		if !s.add || errors.Is(err, mailcow.ErrSTSExists) {
			err = e.mailcow.EditSTS(ctx, s.sts)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("mailcow policy of %s: %w", s.sts.Domain, err))
			held[s.sts.Domain] = fmt.Sprintf("mailcow's policy of %s could not be written, so its id waits: %v", s.sts.Domain, err)
			continue
		}
		rep.MailcowPolicies = append(rep.MailcowPolicies, s.sts.Domain)
		e.opts.Log.Info("mailcow policy written", "domain", s.sts.Domain)
	}
	for alias, target := range run.aliasOf {
		if reason, ok := held[target]; ok {
			held[alias] = reason
		}
	}
	return held, errs, nil
}

// gateIDs fetches, the way a sender does, the policy of every domain whose
// _mta-sts record the plans would create or change, and holds it back
// where the policy cannot be fetched, or (compare) is not the one we
// publish. Senders that see a new id fetch the policy at once; one they
// cannot fetch leaves them with no policy or a stale one.
func (e *Engine) gateIDs(ctx context.Context, run *Run, plans []reconcile.ZonePlan, compare bool, held map[string]string) {
	if e.gate == nil && len(held) == 0 {
		return
	}
	type gated struct{ zone, domain string }
	var todo []gated
	for i, zp := range plans {
		for _, c := range zp.Changes {
			// The id, or in the delegated layout the CNAME that makes the
			// primary's id this domain's, both send senders to mta-sts.D.
			if (c.Type == "TXT" || c.Type == "CNAME") && strings.HasPrefix(c.Name, "_mta-sts.") && (c.Action == reconcile.Create || c.Action == reconcile.Update) {
				todo = append(todo, gated{run.zones[i].zone + " " + run.zones[i].provider, c.Domain})
			}
		}
	}
	reasons := make([]string, len(todo))
	e.each(len(todo), func(i int) {
		d := todo[i].domain
		if r, ok := held[d]; ok {
			reasons[i] = r
			return
		}
		if e.gate == nil {
			return
		}
		f, err := e.gate.FetchPolicy(ctx, d)
		switch {
		case err != nil:
			reasons[i] = err.Error() + "; the id is published once senders can fetch the policy: rerun later"
		case compare && !f.Policy.Equal(run.expected[d]):
			o, n := policyDiff(f.Policy.Normalize(), run.expected[d])
			reasons[i] = fmt.Sprintf("https://mta-sts.%s/.well-known/mta-sts.txt serves another policy (%s, not %s); the id waits until the new policy is served", d, strings.Join(o, ", "), strings.Join(n, ", "))
		}
	})
	withheld := map[string]map[string]string{}
	for i, g := range todo {
		if reasons[i] == "" {
			continue
		}
		if withheld[g.zone] == nil {
			withheld[g.zone] = map[string]string{}
		}
		withheld[g.zone][g.domain] = reasons[i]
	}
	for i, zs := range run.zones {
		w := withheld[zs.zone+" "+zs.provider]
		if len(w) == 0 {
			continue
		}
		for j := range run.zones[i].domains {
			d := &run.zones[i].domains[j]
			if r, ok := w[d.Name]; ok {
				d.Withheld = r
			}
		}
		cs := plans[i].ConfirmedByDNS
		plans[i] = reconcile.PlanZone(run.spec, zs.zone, zs.provider, run.zones[i].domains, zs.live)
		plans[i].ConfirmedByDNS = cs
	}
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, so a web server never serves half a policy.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".mta-sts-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
