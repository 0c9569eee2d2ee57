package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/config"
	"github.com/mtasts-sync/mtasts-sync/internal/dane"
	"github.com/mtasts-sync/mtasts-sync/internal/lifecycle"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// zoneLife is what one zone adds to the plan about domains' ends.
type zoneLife struct {
	retiring []reconcile.Retirement
	orphans  []reconcile.Orphan
	errs     []reconcile.ZonePlan // retiring domains that cannot be planned
	// still are the retiring domains whose policy must not change on this
	// run either: retired, refused, or blocked.
	still []string
}

// withoutSteps drops the policy steps of the domains in still.
func withoutSteps(steps []reconcile.Step, still map[string]bool) []reconcile.Step {
	if len(still) == 0 {
		return steps
	}
	var out []reconcile.Step
	for _, st := range steps {
		if (st.Kind == reconcile.StepPolicyFile && still[st.Domain]) || (st.Kind == reconcile.StepMailcowPolicy && still[st.Target]) {
			continue
		}
		out = append(out, st)
	}
	return out
}

// known reports whether a domain is claimed by this run: managed (from
// the config or mailcow, --domain or not), retiring, or skipped by mailcow.
func (e *Engine) known(inv Inventory) func(string) bool {
	claimed := map[string]bool{}
	for _, d := range inv.All {
		claimed[d] = true
	}
	for _, s := range inv.Skipped {
		claimed[s.Domain] = true
	}
	for _, r := range e.cfg.Retire {
		claimed[r.Domain] = true
	}
	return func(d string) bool { return claimed[d] }
}

// daneHosts are the hosts whose TLSA records dane: keeps, as
// lifecycle.Shape wants them: with mailcow and no policy_host, the policy
// host found at run time stands for the default.
func (e *Engine) daneHosts(policyHost string) map[string]bool {
	out := map[string]bool{}
	if e.cfg.DANE == nil {
		return out
	}
	hosts := e.cfg.DANE.Hosts
	if len(hosts) == 0 && policyHost != "" {
		hosts = []string{policyHost}
	}
	for _, h := range hosts {
		out[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return out
}

// daneOrphanAdvice says what to do about a host's DANE records that no
// run keeps any more.
func (e *Engine) daneOrphanAdvice(o lifecycle.Orphan) string {
	names := make([]string, len(o.Ports))
	for i, p := range o.Ports {
		names[i] = dane.Name(o.Domain, p)
	}
	why, back := "dane.hosts does not list "+o.Domain, "add it back to dane.hosts"
	if e.cfg.DANE == nil {
		why, back = "the config has no dane:", fmt.Sprintf("add dane: back with hosts: [%s]", o.Domain)
	}
	return fmt.Sprintf("TLSA records mtasts-sync published (its %s marker TXT lists them), but %s, so they no longer follow the host's key: if it still takes mail, senders that validate DANE refuse it once the key changes; left alone: %s, or delete by hand the TLSA records listed and then the marker TXT at %s",
		strings.TrimSuffix(reconcile.DANEMarker, ";"), why, back, strings.Join(names, ", "))
}

// orphanZones adds the configured zones that hold no domain of this run,
// so that records left there are found: a zone whose last domain was
// removed is exactly where orphans are. With --domain the run looks only
// at those domains' zones.
func (e *Engine) orphanZones(inv Inventory, groups map[[2]string]*zoneInput) {
	if len(e.opts.Only) > 0 {
		return
	}
	for zone, prov := range e.cfg.Zones {
		k := [2]string{zone, prov}
		if groups[k] == nil {
			groups[k] = &zoneInput{zone: zone, provider: prov}
		}
	}
}

// planLife plans the zone's retiring domains from its live records and
// lists its orphans; their changes join zp.
func (e *Engine) planLife(spec reconcile.Spec, policyHost string, zi *zoneInput, live []reconcile.Record, zp *reconcile.ZonePlan, known func(string) bool) zoneLife {
	var out zoneLife
	shape := lifecycle.Shape{PolicyHost: policyHost, Managed: spec.Managed, DANEHosts: e.daneHosts(policyHost)}
	for _, o := range shape.Orphans(zi.zone, live, known) {
		ro := reconcile.Orphan{Domain: o.Domain, Zone: zi.zone, Provider: zi.provider,
			Advice: fmt.Sprintf("ours by shape, but %s is neither a domain of the config or mailcow nor in retire:; left alone: add it to retire: (retire: {%s: %s}) to remove its records safely, or back to domains:", o.Domain, o.Domain, e.opts.Now().UTC().Format(time.DateOnly))}
		if len(o.Ports) > 0 {
			ro.Advice = e.daneOrphanAdvice(o)
		}
		for _, r := range o.Records {
			ro.Records = append(ro.Records, fmt.Sprintf("%s %s %s", r.Name, r.Type, reconcile.ShowValue(r.Type, r.Value)))
		}
		out.orphans = append(out.orphans, ro)
	}
	now := e.opts.Now()
	for _, t := range zi.retiring {
		w := t.Retire.Window
		lv := lifecycle.LiveOf(t.Domain, shape.Records(t.Domain, live))
		stage := lifecycle.Decide(w, now, t.PolicyID, lv)
		if t.Policy.Mode != mtasts.ModeNone && stage != lifecycle.Retired {
			// The route serves something else: mode none has not gone out.
			stage = lifecycle.Decide(w, now, "", lv)
		}
		r := reconcile.Retirement{Domain: t.Domain, Zone: zi.zone, Provider: zi.provider, Stage: string(stage),
			Since: w.Since.UTC().Format(time.RFC3339), Until: w.Until().UTC().Format(time.RFC3339)}
		if t.Policy.Mode == mtasts.ModeNone {
			r.PolicyID = t.PolicyID
		}
		var sub reconcile.Spec
		if stage == lifecycle.Retired || stage == lifecycle.TooLate || t.Retire.Blocked != "" {
			out.still = append(out.still, t.Domain)
		}
		switch {
		case stage == lifecycle.Retired:
			r.Note = fmt.Sprintf("no records left: remove %s from retire:%s", t.Domain, e.andMailcow(t))
			out.retiring = append(out.retiring, r)
			continue
		case stage == lifecycle.TooLate:
			err := lifecycle.TooLateError(t.Domain, w, now)
			if t.Retire.Blocked != "" {
				err = fmt.Errorf("%w; and first: %s", err, t.Retire.Blocked)
			}
			out.errs = append(out.errs, reconcile.ZonePlan{Zone: zi.zone, Provider: zi.provider, Domains: []string{t.Domain}, Err: err})
			continue
		case t.Retire.Blocked != "":
			r.Stage = "blocked"
			r.Note = fmt.Sprintf("retiring since %s, but mode none cannot go out: %s; its records stay as they are", lifecycle.When(w.Since), t.Retire.Blocked)
			out.retiring = append(out.retiring, r)
			continue
		case stage == lifecycle.Removing:
			r.Note = fmt.Sprintf("retiring since %s: the wait ended after %s, so its records go now, in reverse order (_mta-sts, _smtp._tls, mta-sts); then remove %s from retire:%s", lifecycle.When(w.Since), w.After(), t.Domain, e.andMailcow(t))
			sub = lifeSpec(spec, policyHost, "", true)
		case len(lv.STSIDs) == 0 && !lv.STSPointer:
			// Its _mta-sts record is gone already: a retiring domain
			// never gains records, so only the wait is left.
			r.Note = w.Describe()
			out.retiring = append(out.retiring, r)
			continue
		default:
			r.Note = w.Describe() + e.serveYourself(t)
			sub = lifeSpec(spec, policyHost, t.PolicyID, false)
		}
		out.retiring = append(out.retiring, r)
		d := reconcile.Domain{Name: t.Domain, Zone: zi.zone, Provider: zi.provider, PolicyID: t.PolicyID}
		dz := reconcile.PlanZone(sub, zi.zone, zi.provider, []reconcile.Domain{d}, live)
		zp.Merge(dz)
	}
	return out
}

// lifeSpec is the spec a retiring domain is planned with: in the direct
// layout (its own id, even where the others share the primary's), over
// the MTA-STS kinds. Retiring, only the _mta-sts id changes, to noneID,
// and only where the domain still has one (a retiring domain never gains
// records); removing, every record of ours goes.
func lifeSpec(base reconcile.Spec, policyHost, noneID string, removing bool) reconcile.Spec {
	s := base
	s.Layout = reconcile.Direct
	s.Kinds = nil
	// A TLSRPT kind always, so that removal finds _smtp._tls even after
	// tlsrpt: left the config.
	for _, k := range reconcile.MTASTSKinds(policyHost, "v=TLSRPTv1;") {
		switch {
		case removing:
			k.Want = func(reconcile.Domain, string) ([]reconcile.Record, bool) { return nil, true }
		case k.Name == reconcile.KindSTS:
			want := []reconcile.Record{{Type: "TXT", Value: mtasts.STSRecord{ID: noneID}.String()}}
			k.Want = func(reconcile.Domain, string) ([]reconcile.Record, bool) { return want, true }
			k.WaitsFor = ""
		default:
			k.Want = func(reconcile.Domain, string) ([]reconcile.Record, bool) { return nil, false }
		}
		s.Kinds = append(s.Kinds, k)
	}
	return s
}

func (e *Engine) andMailcow(t Target) string {
	if e.cfg.Mailcow != nil {
		return " and from mailcow"
	}
	return ""
}

// serveYourself says what to serve where mtasts-sync cannot give one
// domain mode none: one policy (policy.file, or the user's web server)
// serves every domain.
func (e *Engine) serveYourself(t Target) string {
	if e.cfg.PolicySource() != config.PolicyFromConfig || e.cfg.Policy.Dir != "" {
		return ""
	}
	return fmt.Sprintf("; one policy serves every domain here, so serve its own at https://mta-sts.%s/.well-known/mta-sts.txt yourself (%s; or use policy.dir): its id %s waits until it is served",
		t.Domain, describe(t.Policy), t.PolicyID)
}

// retired returns the domains whose removal the plan held and whose zone
// applied without an error.
func retired(p reconcile.Plan, results []reconcile.Result) []string {
	failed := map[[2]string]bool{}
	for _, r := range results {
		if r.Err != nil {
			failed[[2]string{r.Zone, r.Provider}] = true
		}
	}
	var out []string
	for _, r := range p.Retiring {
		if r.Stage == string(lifecycle.Removing) && !failed[[2]string{r.Zone, r.Provider}] {
			out = append(out, r.Domain)
		}
	}
	return out
}
