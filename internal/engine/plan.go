package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/lifecycle"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// Run is one run's plan. Everything apply needs besides credentials is in
// the plan: apply executes it and never plans again.
type Run struct {
	Plan reconcile.Plan
	// UnusedIgnores are the config's ignore: entries that matched no
	// conflict in a zone the run read; each is also a plan warning.
	UnusedIgnores []config.Ignore
}

// zoneInput is what one zone's plan is made from.
type zoneInput struct {
	zone, provider string
	domains        []reconcile.Domain
	// retiring are the zone's domains in retire:; they are planned from
	// the zone's live records by where each stands (retire.go).
	retiring []Target
}

// Plan reads every zone and returns what apply would change.
func (e *Engine) Plan(ctx context.Context) (*Run, error) {
	inv, err := e.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	run := &Run{Plan: reconcile.Plan{Expected: map[string]mtasts.Policy{}, AliasOf: map[string]string{}}}
	run.Plan.Skipped = inv.Skipped
	run.Plan.Warnings = append(append(run.Plan.Warnings, e.cfg.Warnings...), inv.Warnings...)
	prev := map[string]mtasts.Policy{}
	if err := e.policySteps(ctx, inv, run, prev); err != nil {
		return nil, err
	}
	dr := e.dane(ctx, inv.PolicyHost)
	run.Plan.Warnings = append(run.Plan.Warnings, dr.warnings...)
	spec := e.spec(inv, dr.kinds)

	groups := map[[2]string]*zoneInput{}
	for _, t := range inv.Targets {
		if t.Err != nil {
			run.Plan.Zones = append(run.Plan.Zones, reconcile.ZonePlan{Zone: orUnknown(t.Zone), Provider: t.Provider, Domains: []string{t.Domain}, Err: t.Err})
			continue
		}
		run.Plan.Expected[t.Domain] = t.Policy
		if t.AliasOf != "" {
			run.Plan.AliasOf[t.Domain] = t.AliasOf
		}
		k := [2]string{t.Zone, t.Provider}
		if groups[k] == nil {
			groups[k] = &zoneInput{zone: t.Zone, provider: t.Provider}
		}
		if t.Retire != nil {
			groups[k].retiring = append(groups[k].retiring, t)
			continue
		}
		groups[k].domains = append(groups[k].domains, reconcile.Domain{Name: t.Domain, Zone: t.Zone, Provider: t.Provider, PolicyID: t.PolicyID})
	}
	e.orphanZones(inv, groups)
	// Each DANE host is planned in the zone that holds it, which need not
	// hold any mail domain.
	for _, h := range dr.hosts {
		if h.err != nil {
			run.Plan.Zones = append(run.Plan.Zones, reconcile.ZonePlan{Zone: orUnknown(h.zone), Provider: h.provider, Domains: []string{h.host}, Err: h.err})
			continue
		}
		k := [2]string{h.zone, h.provider}
		if groups[k] == nil {
			groups[k] = &zoneInput{zone: h.zone, provider: h.provider}
		}
		groups[k].domains = append(groups[k].domains, reconcile.Domain{Name: h.host, Zone: h.zone, Provider: h.provider, Hosts: []string{h.host}, HostOnly: true})
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+" "+keys[i][1] < keys[j][0]+" "+keys[j][1] })
	plans := make([]reconcile.ZonePlan, len(keys))
	lives := make([]zoneLife, len(keys))
	cuts := make([][]reconcile.ZonePlan, len(keys))
	known := e.known(inv)
	still := map[string]bool{}
	st := e.startStage(StageRead, "zone read", len(keys))
	e.perZone(len(keys), func(i int) {
		zi := groups[keys[i]]
		// Retiring domains are planned from the live records: DNS answers
		// cannot say what stage they are in.
		// A zone read only for orphans has nothing DNS could confirm.
		if len(zi.retiring) == 0 && len(zi.domains) > 0 {
			if zp, ok := e.confirmByDNS(ctx, spec, zi); ok {
				plans[i] = zp
				st.zoneDone(zi.zone, zi.provider, nil, "via", "dns", "changes", 0)
				return
			}
		}
		live, err := e.readZone(ctx, zi.zone, zi.provider)
		if err != nil {
			plans[i] = reconcile.ZonePlan{Zone: zi.zone, Provider: zi.provider, Err: fmt.Errorf("zone %s (provider %s): %w", zi.zone, zi.provider, err)}
			for _, d := range zi.domains {
				plans[i].Domains = append(plans[i].Domains, d.Name)
			}
			st.zoneDone(zi.zone, zi.provider, err, "via", "provider")
			return
		}
		var clear []reconcile.Domain
		clear, cuts[i] = belowCuts(spec, zi, live)
		plans[i] = reconcile.PlanZone(spec, zi.zone, zi.provider, clear, live)
		lives[i] = e.planLife(spec, inv.PolicyHost, zi, live, &plans[i], known)
		st.zoneDone(zi.zone, zi.provider, nil, "via", "provider", "changes", len(plans[i].Changes))
	})
	for i := range plans {
		explainIDs(&plans[i], prev, run.Plan.Expected)
		if len(plans[i].Domains) > 0 || len(plans[i].Changes) > 0 || plans[i].Err != nil {
			run.Plan.Zones = append(run.Plan.Zones, plans[i])
		}
		run.Plan.Zones = append(run.Plan.Zones, cuts[i]...)
		run.Plan.Zones = append(run.Plan.Zones, lives[i].errs...)
		run.Plan.Retiring = append(run.Plan.Retiring, lives[i].retiring...)
		run.Plan.Orphans = append(run.Plan.Orphans, lives[i].orphans...)
		for _, d := range lives[i].still {
			still[d] = true
		}
	}
	run.Plan.Steps = withoutSteps(run.Plan.Steps, still)
	// Until a new policy is published, what is served is the old one: the
	// ids of domains whose policy a step publishes are gated at apply time.
	run.Plan = reconcile.Withhold(run.Plan, e.gateHolds(ctx, run.Plan, nil, publishing(run.Plan)))
	run.Plan.Warnings = append(run.Plan.Warnings, dr.rollover(run.Plan, e.cfg.TTL)...)
	e.acknowledge(run)
	run.Plan.Sort()
	return run, nil
}

// acknowledge marks the conflicts the config's ignore: accepts, and warns
// about every entry that no longer matches one.
func (e *Engine) acknowledge(run *Run) {
	acks := make([]reconcile.Ack, len(e.cfg.Ignore))
	for i, ig := range e.cfg.Ignore {
		acks[i] = reconcile.Ack{Name: ig.Name, Type: ig.Type, Reason: ig.Reason}
	}
	var unused []reconcile.Ack
	run.Plan, unused = reconcile.Acknowledge(run.Plan, acks)
	for _, u := range unused {
		for _, ig := range e.cfg.Ignore {
			if ig.Name == u.Name && ig.Type == u.Type {
				run.UnusedIgnores = append(run.UnusedIgnores, ig)
				run.Plan.Warnings = append(run.Plan.Warnings, fmt.Sprintf(
					"%s:%d: ignore: %s matches no conflict any more: the records in the way are gone or changed type; remove the entry", e.cfg.Path, ig.Line, ig))
				break
			}
		}
	}
}

// belowCuts splits a zone's domains into those whose names the zone holds
// and those below a zone cut or a DNAME in it: each of those is an error of
// its own, with nothing written, while the zone's other domains go ahead.
func belowCuts(spec reconcile.Spec, zi *zoneInput, live []reconcile.Record) (clear []reconcile.Domain, errs []reconcile.ZonePlan) {
	for _, d := range zi.domains {
		if err := spec.ZoneCut(zi.zone, d, live); err != nil {
			errs = append(errs, reconcile.ZonePlan{Zone: zi.zone, Provider: zi.provider, Domains: []string{d.Name}, Err: fmt.Errorf("domain %w", err)})
			continue
		}
		clear = append(clear, d)
	}
	return clear, errs
}

// wildcardProbe prefixes a name under each domain that no one creates.
const wildcardProbe = "mtasts-sync-wildcard-probe."

// confirmByDNS asks the zone's authoritative servers for our names and
// returns an empty plan, with no API call, when their answers already
// hold exactly the desired records. Any doubt (no answer, a server that
// disagrees or has not caught up, anything to change) reads the zone
// through its provider instead.
func (e *Engine) confirmByDNS(ctx context.Context, spec reconcile.Spec, zs *zoneInput) (reconcile.ZonePlan, bool) {
	if e.authdns == nil || !e.providers[zs.provider].Remote() {
		return reconcile.ZonePlan{}, false
	}
	queries := spec.Queries(zs.domains)
	probes := map[string]bool{}
	for _, d := range zs.domains {
		// A wildcard would answer for our names although the zone holds
		// none of them: a name nobody creates must come back empty.
		probe := wildcardProbe + d.Name + "."
		probes[probe] = true
		queries = append(queries, reconcile.Query{Name: probe, Types: []string{"CNAME", "TXT"}})
	}
	select {
	case e.dnsSlots <- struct{}{}:
	case <-ctx.Done():
		return reconcile.ZonePlan{}, false
	}
	recs, err := e.authdns.Records(ctx, zs.zone, queries)
	<-e.dnsSlots
	if err != nil {
		e.opts.Log.Debug("DNS shortcut not taken", "zone", zs.zone, "reason", err)
		return reconcile.ZonePlan{}, false
	}
	for _, r := range recs {
		if probes[r.Name] {
			e.opts.Log.Debug("DNS shortcut not taken", "zone", zs.zone, "reason", "a wildcard answers for "+r.Name)
			return reconcile.ZonePlan{}, false
		}
	}
	zp := reconcile.PlanZone(spec, zs.zone, zs.provider, zs.domains, recs)
	if len(zp.Changes) > 0 {
		e.opts.Log.Debug("DNS shortcut not taken", "zone", zs.zone, "reason", "DNS shows changes to make")
		return reconcile.ZonePlan{}, false
	}
	zp.ConfirmedByDNS = true
	return zp, true
}

// readZone reads a zone within its provider account's concurrency.
func (e *Engine) readZone(ctx context.Context, zone, provider string) ([]reconcile.Record, error) {
	p := e.providers[provider]
	release, err := p.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return p.Zone(zone).Records(ctx)
}

func orUnknown(zone string) string {
	if zone == "" {
		return "(unknown)"
	}
	return zone
}

// kinds are the record kinds this config manages, in write order: the
// one place a kind built from config joins the run. DANE's kinds (one per
// port) come last: they sit at the hosts, not under the domains.
func (e *Engine) kinds(inv Inventory, extra []reconcile.Kind) []reconcile.Kind {
	var tlsrpt string
	if e.cfg.TLSRPT != nil {
		tlsrpt = mtasts.TLSRPTRecord{RUA: e.cfg.TLSRPT.RUA}.String()
	}
	return append(reconcile.MTASTSKinds(inv.PolicyHost, tlsrpt), extra...)
}

func (e *Engine) spec(inv Inventory, extra []reconcile.Kind) reconcile.Spec {
	s := reconcile.Spec{
		Kinds:   e.kinds(inv, extra),
		Layout:  reconcile.Layout(e.cfg.Layout),
		Primary: e.cfg.Primary,
		TTL:     e.cfg.TTL,
		Managed: map[string]bool{},
	}
	// All of them, not only --domain's: whether a CNAME is ours must not
	// depend on which domains this run looks at.
	for _, d := range inv.All {
		s.Managed[d] = true
	}
	return s
}

// policySteps plans publishing the policy: writing policy.file, or adding
// and editing mailcow's MTA-STS entries.
//
// prev gets the policy each domain served before this run, where known:
// what an id change is explained against.
func (e *Engine) policySteps(ctx context.Context, inv Inventory, run *Run, prev map[string]mtasts.Policy) error {
	switch e.cfg.PolicySource() {
	case config.PolicyFromConfig:
		if e.cfg.Policy.Dir != "" {
			e.policyDirSteps(inv, run, prev)
			return nil
		}
		if e.cfg.Policy.File == "" {
			return nil
		}
		p := e.configPolicy(inv.PolicyHost)
		step, old, changed, err := policyFileStep(e.cfg.Policy.File, p)
		if err != nil {
			return fmt.Errorf("policy.file: %w", err)
		}
		run.Plan.Warnings = append(run.Plan.Warnings, lifecycle.ChangeWarnings("policy.file "+e.cfg.Policy.File, old, p, e.opts.Now())...)
		if old.Mode != "" {
			for _, t := range inv.Targets {
				prev[t.Domain] = old
			}
		}
		if changed {
			run.Plan.Steps = append(run.Plan.Steps, step)
		}
	case config.PolicyMailcowManaged:
		return e.mailcowSteps(ctx, inv, run, prev)
	}
	return nil
}

// mailcowSteps compares the policy mailcow serves for each of its domains
// with the config's: mailcow's API cannot read its MTA-STS entries back,
// but what it serves is what senders see.
func (e *Engine) mailcowSteps(ctx context.Context, inv Inventory, run *Run, prev map[string]mtasts.Policy) error {
	var targets []Target
	for _, t := range inv.Targets {
		if t.fromMailcow && t.Err == nil {
			targets = append(targets, t)
		}
	}
	steps := make([]*reconcile.Step, len(targets))
	warnings := make([][]string, len(targets))
	served := make([]mtasts.Policy, len(targets))
	errs := make([]error, len(targets))
	e.each(len(targets), func(i int) {
		t := targets[i]
		want := &reconcile.MailcowSTS{Domain: t.Domain, Mode: string(t.Policy.Mode), MX: t.Policy.MX, MaxAge: t.Policy.MaxAge, Active: true}
		body, err := e.mailcow.ServedPolicy(ctx, e.mailcowHost(), t.Domain)
		switch {
		case errors.Is(err, mailcow.ErrNoPolicy):
			want.Add = true
			steps[i] = &reconcile.Step{Kind: reconcile.StepMailcowPolicy, Target: t.Domain, Action: reconcile.Create, New: []string{describe(t.Policy)}, MailcowSTS: want}
			return
		case err != nil:
			errs[i] = fmt.Errorf("domain %s: reading the policy mailcow serves: %w", t.Domain, err)
			return
		}
		pol, _, err := mtasts.ParsePolicy(body)
		if err == nil {
			served[i] = pol.Normalize()
		}
		if err == nil && pol.Equal(t.Policy) {
			return
		}
		step := &reconcile.Step{Kind: reconcile.StepMailcowPolicy, Target: t.Domain, Action: reconcile.Update, MailcowSTS: want,
			Seen: reconcile.FingerprintBytes(body)}
		if err == nil && t.Retire == nil {
			warnings[i] = lifecycle.ChangeWarnings("mailcow's policy of "+t.Domain, pol, t.Policy, e.opts.Now())
		}
		if err != nil {
			step.Old, step.New = []string{"invalid: " + err.Error()}, []string{describe(t.Policy)}
		} else {
			step.Old, step.New = policyDiff(served[i], t.Policy)
		}
		steps[i] = step
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, t := range targets {
		if served[i].Mode != "" {
			prev[t.Domain] = served[i]
		}
		run.Plan.Warnings = append(run.Plan.Warnings, warnings[i]...)
		if steps[i] != nil {
			run.Plan.Steps = append(run.Plan.Steps, *steps[i])
		}
	}
	return nil
}

func describe(p mtasts.Policy) string {
	return fmt.Sprintf("mode %s, max_age %d, mx %s", p.Mode, p.MaxAge, strings.Join(p.MX, ","))
}

// policyDiff names the fields that differ, e.g. "mode testing" -> "mode enforce".
func policyDiff(old, new mtasts.Policy) (o, n []string) {
	if old.Mode != new.Mode {
		o, n = append(o, "mode "+string(old.Mode)), append(n, "mode "+string(new.Mode))
	}
	if old.MaxAge != new.MaxAge {
		o, n = append(o, fmt.Sprintf("max_age %d", old.MaxAge)), append(n, fmt.Sprintf("max_age %d", new.MaxAge))
	}
	if strings.Join(old.MX, ",") != strings.Join(new.MX, ",") {
		o, n = append(o, "mx "+strings.Join(old.MX, ",")), append(n, "mx "+strings.Join(new.MX, ","))
	}
	return o, n
}

// MaxPolicyFile caps the policy file we read back: RFC 8461 policies are
// a few hundred bytes.
const MaxPolicyFile = 64 * safefile.KiB

// policyWhy says what changed from old to new, for people: "policy: mode
// testing -> enforce, max_age 604800 -> 1209600"; "" when nothing did.
func policyWhy(old, new mtasts.Policy) string {
	var parts []string
	if old.Mode != new.Mode {
		parts = append(parts, fmt.Sprintf("mode %s -> %s", old.Mode, new.Mode))
	}
	if old.MaxAge != new.MaxAge {
		parts = append(parts, fmt.Sprintf("max_age %d -> %d", old.MaxAge, new.MaxAge))
	}
	if o, n := strings.Join(old.MX, ","), strings.Join(new.MX, ","); o != n {
		parts = append(parts, fmt.Sprintf("mx %s -> %s", o, n))
	}
	if len(parts) == 0 {
		return ""
	}
	return "policy: " + strings.Join(parts, ", ")
}

// explainIDs says, on every change of a policy id in zp, why the id
// changes: the policy fields that changed since the policy the old id
// stands for, or, when the old id stands for no policy this run knows,
// what the new one is.
func explainIDs(zp *reconcile.ZonePlan, prev, expected map[string]mtasts.Policy) {
	for i, c := range zp.Changes {
		if c.Kind != reconcile.KindSTS || c.Type != "TXT" || len(c.New) != 1 || (c.Action != reconcile.Update && c.Action != reconcile.Withheld) || len(c.Old) == 0 {
			continue
		}
		cur, ok := expected[c.Domain]
		if !ok {
			continue
		}
		oldRec, _, err := mtasts.ParseSTSRecord(c.Old[0])
		if p, known := prev[c.Domain]; known && err == nil && len(c.Old) == 1 && p.ID() == oldRec.ID {
			zp.Changes[i].Why = policyWhy(p, cur)
		}
		if zp.Changes[i].Why == "" {
			zp.Changes[i].Why = "policy: " + describe(cur)
		}
	}
}

// policyFileStep compares the policy file on disk with the one we render.
// prev is the policy the file holds now (zero when none or unparsable):
// the one senders may have cached.
func policyFileStep(path string, p mtasts.Policy) (step reconcile.Step, prev mtasts.Policy, changed bool, err error) {
	want := p.Render()
	step = reconcile.Step{Kind: reconcile.StepPolicyFile, Target: path, New: []string{"id " + p.ID()}, Content: want}
	old, err := safefile.ReadFile(path, MaxPolicyFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		step.Action = reconcile.Create
		return step, prev, true, nil
	case err != nil:
		return step, prev, false, err
	}
	step.Seen = reconcile.FingerprintBytes(old)
	op, _, perr := mtasts.ParsePolicy(old)
	if perr == nil {
		prev = op.Normalize()
	}
	if string(old) == string(want) {
		return step, prev, false, nil
	}
	step.Action = reconcile.Update
	if perr == nil {
		step.Old = []string{"id " + prev.ID()}
		if why := policyWhy(prev, p); why != "" {
			step.Reason = why
		}
	} else {
		step.Old = []string{"unparsable: " + perr.Error()}
	}
	return step, prev, true, nil
}
