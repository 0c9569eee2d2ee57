package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// Report is what apply did.
type Report struct {
	Results []reconcile.Result
	// PolicyFile is set when the policy file was written.
	PolicyFile string
	// PolicyFiles are the per-domain files written under policy.dir.
	PolicyFiles []string
	// Retired are the retiring domains whose records this apply removed:
	// they can now leave retire: (and mailcow).
	Retired []string
	// MailcowPolicies lists the domains whose mailcow entry was written.
	MailcowPolicies []string
	// HeldAtApply are the changes of a saved plan the publish gate held
	// back at apply time (apply may do less than the plan, never more).
	HeldAtApply []reconcile.Change
	Err         error
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
	if run.Plan.StepsPending() {
		// The policy just changed where senders fetch it: hold back every
		// id whose policy is not served as published yet. The plan only
		// loses work here, never gains any.
		run.Plan = reconcile.Withhold(run.Plan, e.gateHolds(ctx, run.Plan, held, nil))
	}
	// The gate for TLSA: the key each host serves now must stay published.
	run.Plan = reconcile.Withhold(run.Plan, e.daneHolds(ctx, run.Plan))
	e.writeZones(ctx, run, &rep, mailcowErrs)
	return rep
}

// writeZones writes every zone's pending changes, each zone within its
// provider account's slots. Zones whose read failed at plan time count as
// failures.
func (e *Engine) writeZones(ctx context.Context, run *Run, rep *Report, errs []error) {
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
	st := e.startStage(StageWrite, "zone applied", len(todo))
	e.perZone(len(todo), func(i int) {
		zp := todo[i]
		p := e.providers[zp.Provider]
		release, err := p.Acquire(ctx)
		if err != nil {
			results[i] = reconcile.Result{Zone: zp.Zone, Provider: zp.Provider, Err: fmt.Errorf("zone %s (provider %s): not started: %w", zp.Zone, zp.Provider, err)}
			st.zoneDone(zp.Zone, zp.Provider, err)
			return
		}
		defer release()
		results[i] = reconcile.Apply(ctx, zp, p.Zone(zp.Zone))
		st.zoneDone(zp.Zone, zp.Provider, results[i].Err, "changes", len(results[i].Applied))
	})
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	rep.Results = results
	rep.Retired = retired(run.Plan, results)
	rep.Err = errors.Join(errs...)
}

// publish writes the policy where senders fetch it. The policy file is one
// for every domain: if it cannot be written, nothing else may change
// (err). A mailcow entry is per domain: one that cannot be written holds
// back that domain's id, and its alias domains', while the others go on.
func (e *Engine) publish(ctx context.Context, run *Run, rep *Report) (held map[string]string, errs []error, err error) {
	held = map[string]string{}
	for _, st := range run.Plan.Steps {
		if st.Action != reconcile.Create && st.Action != reconcile.Update {
			continue
		}
		switch st.Kind {
		case reconcile.StepPolicyFile:
			if st.Domain != "" {
				if err := writeDomainPolicy(st); err != nil {
					errs = append(errs, err)
					held[st.Domain] = fmt.Sprintf("its policy file %s could not be written, so its id waits: %v", st.Target, err)
					continue
				}
				rep.PolicyFiles = append(rep.PolicyFiles, st.Target)
				e.opts.Log.Info("policy file written", "file", st.Target)
				continue
			}
			if err := safefile.WriteFile(st.Target, st.Content, 0o644); err != nil {
				return nil, nil, fmt.Errorf("writing the policy file: %w", err)
			}
			rep.PolicyFile = st.Target
			e.opts.Log.Info("policy file written", "file", st.Target)
		case reconcile.StepMailcowPolicy:
			if err := e.writeMailcowSTS(ctx, st.MailcowSTS); err != nil {
				errs = append(errs, fmt.Errorf("mailcow policy of %s: %w", st.Target, err))
				held[st.Target] = fmt.Sprintf("mailcow's policy of %s could not be written, so its id waits: %v", st.Target, err)
				continue
			}
			rep.MailcowPolicies = append(rep.MailcowPolicies, st.Target)
			e.opts.Log.Info("mailcow policy written", "domain", st.Target)
		default:
			return nil, nil, fmt.Errorf("the plan has a step of unknown kind %q: run plan again with this version", st.Kind)
		}
	}
	for alias, target := range run.Plan.AliasOf {
		if reason, ok := held[target]; ok {
			held[alias] = reason
		}
	}
	return held, errs, nil
}

// publishing returns whether a pending step of p publishes a domain's
// policy: then what is served now is not yet what apply will serve.
func publishing(p reconcile.Plan) func(domain string) bool {
	all := false
	domains := map[string]bool{}
	for _, st := range p.Steps {
		if st.Action != reconcile.Create && st.Action != reconcile.Update {
			continue
		}
		switch {
		case st.Kind == reconcile.StepPolicyFile && st.Domain == "":
			all = true
		case st.Kind == reconcile.StepPolicyFile:
			domains[st.Domain] = true
		case st.Kind == reconcile.StepMailcowPolicy:
			domains[st.Target] = true
		}
	}
	return func(d string) bool {
		return all || domains[d] || (p.AliasOf[d] != "" && domains[p.AliasOf[d]])
	}
}

// writeMailcowSTS adds or edits one mailcow MTA-STS entry.
func (e *Engine) writeMailcowSTS(ctx context.Context, s *reconcile.MailcowSTS) error {
	if s == nil {
		return errors.New("the plan's step carries no entry")
	}
	if e.mailcow == nil {
		return errors.New("the config has no mailcow: section")
	}
	sts := mailcow.STS{Domain: s.Domain, Mode: s.Mode, MX: s.MX, MaxAge: s.MaxAge, Active: s.Active}
	var err error
	if s.Add {
		err = e.mailcow.AddSTS(ctx, sts)
	}
	// An inactive entry serves nothing, like no entry at all: adding it
	// finds it there, and editing it (active again) is what was meant.
	if !s.Add || errors.Is(err, mailcow.ErrSTSExists) {
		err = e.mailcow.EditSTS(ctx, sts)
	}
	return err
}

// gateHolds fetches, the way a sender does, the policy of every domain whose
// gated records (the _mta-sts id, or in the delegated layout the CNAME that
// makes the primary's id the domain's) the plan would create or change, and
// returns why each must wait: its policy cannot be fetched, or is not the
// one the plan publishes, or (held) could not be published. Senders that
// see a new id fetch the policy at once; one they cannot fetch leaves them
// with no policy or a stale one. Domains for which publishing (a step of
// the plan) is still to come are left to the gate at apply time.
func (e *Engine) gateHolds(ctx context.Context, p reconcile.Plan, held map[string]string, publishing func(domain string) bool) map[reconcile.Hold]string {
	if e.gate == nil && len(held) == 0 {
		return nil
	}
	var todo []reconcile.Hold
	seen := map[reconcile.Hold]bool{}
	zoneOf := map[string][2]string{} // domain -> zone, provider
	for _, zp := range p.Zones {
		for _, c := range zp.Changes {
			zoneOf[c.Domain] = [2]string{zp.Zone, zp.Provider}
			h := reconcile.Hold{Domain: c.Domain, Kind: c.Kind}
			if c.Gated && (c.Action == reconcile.Create || c.Action == reconcile.Update) && !seen[h] && (publishing == nil || !publishing(c.Domain)) {
				seen[h] = true
				todo = append(todo, h)
			}
		}
	}
	reasons := make([]string, len(todo))
	e.each(len(todo), func(i int) {
		d := todo[i].Domain
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
			reasons[i] = err.Error() + withHint(e.ProxyHint(ctx, zoneOf[d][0], zoneOf[d][1], d, false)) + "; the id is published once senders can fetch the policy: rerun later"
		case !f.Policy.Equal(p.Expected[d]):
			o, n := policyDiff(f.Policy.Normalize(), p.Expected[d])
			reasons[i] = fmt.Sprintf("https://mta-sts.%s/.well-known/mta-sts.txt serves another policy (%s, not %s)%s; the id waits until the new policy is served",
				d, strings.Join(o, ", "), strings.Join(n, ", "), withHint(e.ProxyHint(ctx, zoneOf[d][0], zoneOf[d][1], d, true)))
		}
	})
	out := map[reconcile.Hold]string{}
	for i, h := range todo {
		if reasons[i] != "" {
			out[h] = reasons[i]
		}
	}
	return out
}

// ProxyHint names a proxy in front of mta-sts.<domain> as the likely cause
// of a failed policy fetch, and how to turn it off, when the domain's zone
// is at a provider with one (Cloudflare's orange cloud answers HTTPS with
// Cloudflare's certificate, and may serve a cached policy). It asks the
// provider: a proxied record gets a definite hint, a record that is not
// proxied none; when the provider cannot tell, a hint says what to look
// at unless onlyIfSure. "" when there is nothing to say.
func (e *Engine) ProxyHint(ctx context.Context, zone, provider, domain string, onlyIfSure bool) string {
	p := e.providers[provider]
	if p == nil || zone == "" {
		return ""
	}
	name := "mta-sts." + domain
	proxied, known, err := p.Proxied(ctx, zone, name)
	switch {
	case err == nil && !known:
		return "" // no proxy at this provider
	case err == nil && proxied:
		return fmt.Sprintf("%s is proxied by Cloudflare (orange cloud), so senders reach Cloudflare, not your policy host: "+
			"set the record's Proxy status to DNS only (dashboard: DNS → Records → %s → Edit), or PATCH it with \"proxied\": false", name, name)
	case err == nil:
		return ""
	case onlyIfSure:
		return ""
	}
	return fmt.Sprintf("if %s is proxied by Cloudflare (orange cloud), that is a likely cause: set its Proxy status to DNS only (could not read it: %v)", name, err)
}

// withHint appends a hint to a reason.
func withHint(hint string) string {
	if hint == "" {
		return ""
	}
	return "; " + hint
}
