package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/dnsname"
	"github.com/mtasts-sync/mtasts-sync/internal/mailcow"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// StaleError is why a saved plan was not applied: what it touches moved
// since it was made. Nothing was written.
type StaleError struct {
	// Moved says, one line each, what differs from what the plan saw.
	Moved []string
	// Applied: everything that moved is in the state the plan leads to;
	// the plan was applied already.
	Applied bool
}

func (e *StaleError) Error() string {
	// The caller names the plan file ("saved plan F: it is stale …").
	head := "it is stale: what it changes moved since it was made"
	if e.Applied {
		head = "it was applied already"
	}
	return fmt.Sprintf("%s; nothing was written:\n  %s\nrun plan again", head, strings.Join(e.Moved, "\n  "))
}

// ApplySaved applies a saved plan exactly: it first reads every zone the
// plan writes and what its policy steps replace, and refuses (a
// *StaleError, nothing written) when any record at a name the plan writes,
// the policy file or a mailcow policy differs from what the plan saw.
// Records elsewhere in the zones do not matter. Before that, with no I/O,
// it refuses (a *ScopeError) a plan that writes anything no plan of the
// current config could (scope.go): a hand-edited file. Then it publishes the
// policy, runs the publish gate (which may hold ids back: the report's
// HeldAtApply), and writes the plan's changes, never more.
func (e *Engine) ApplySaved(ctx context.Context, run *Run) (Report, error) {
	if err := e.savedScope(run.Plan); err != nil {
		return Report{}, err
	}
	live, err := e.checkSaved(ctx, run)
	if err != nil {
		return Report{}, err
	}
	bindRaw(run, live)
	var rep Report
	held, mailcowErrs, err := e.publish(ctx, run, &rep)
	if err != nil {
		rep.Err = fmt.Errorf("%w (no DNS record was changed, so no id points at a policy that is not served)", err)
		return rep, nil
	}
	before := run.Plan
	run.Plan = reconcile.Withhold(run.Plan, e.gateHolds(ctx, run.Plan, held, nil))
	run.Plan = reconcile.Withhold(run.Plan, e.daneHolds(ctx, run.Plan))
	rep.HeldAtApply = newlyHeld(before, run.Plan)
	e.writeZones(ctx, run, &rep, mailcowErrs)
	return rep, nil
}

// newlyHeld lists the changes after holds back that before would write.
func newlyHeld(before, after reconcile.Plan) []reconcile.Change {
	var out []reconcile.Change
	for i, z := range after.Zones {
		for j, c := range z.Changes {
			if c.Action == reconcile.Withheld && before.Zones[i].Changes[j].Applies() {
				out = append(out, c)
			}
		}
	}
	return out
}

// checkSaved reads what the plan's writes depend on and compares it with
// what the plan saw. It returns each zone's live records, by "zone
// provider", for binding the plan's records to the provider's.
func (e *Engine) checkSaved(ctx context.Context, run *Run) (map[string][]reconcile.Record, error) {
	var moved []string
	applied := true
	note := func(msg string, isApplied bool) {
		moved = append(moved, msg)
		applied = applied && isApplied
	}
	for _, st := range run.Plan.Steps {
		if st.Action != reconcile.Create && st.Action != reconcile.Update {
			continue
		}
		msg, isApplied, err := e.stepMoved(ctx, st)
		if err != nil {
			return nil, err
		}
		if msg != "" {
			note(msg, isApplied)
		}
	}
	var todo []reconcile.ZonePlan
	for _, zp := range run.Plan.Zones {
		if zp.Err == nil && zp.Pending() {
			if e.providers[zp.Provider] == nil {
				return nil, fmt.Errorf("zone %s: the plan writes through provider %q, which the config does not define: run plan again", zp.Zone, zp.Provider)
			}
			todo = append(todo, zp)
		}
	}
	lives := make([][]reconcile.Record, len(todo))
	errs := make([]error, len(todo))
	e.perZone(len(todo), func(i int) {
		lives[i], errs[i] = e.readZone(ctx, todo[i].Zone, todo[i].Provider)
		if errs[i] != nil {
			errs[i] = fmt.Errorf("zone %s (provider %s): checking the saved plan: %w (nothing was written)", todo[i].Zone, todo[i].Provider, errs[i])
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := map[string][]reconcile.Record{}
	for i, zp := range todo {
		out[zp.Zone+" "+zp.Provider] = lives[i]
		for _, name := range zp.Touched() {
			saw := reconcile.At(zp.Seen, name)
			now := reconcile.At(lives[i], name)
			if reconcile.Fingerprint(now) == reconcile.Fingerprint(saw) {
				continue
			}
			isApplied := reconcile.Fingerprint(now) == reconcile.Fingerprint(zp.After(saw, name))
			note(fmt.Sprintf("zone %s: %s: the plan saw %s, the zone now holds %s", zp.Zone, name, show(saw), show(now)), isApplied)
		}
		for _, msg := range e.hostMissing(zp, lives[i]) {
			note(msg, false)
		}
	}
	if len(moved) > 0 {
		return nil, &StaleError{Moved: moved, Applied: applied}
	}
	return out, nil
}

// stepMoved compares what a policy step replaces with what the plan saw.
func (e *Engine) stepMoved(ctx context.Context, st reconcile.Step) (msg string, applied bool, err error) {
	switch st.Kind {
	case reconcile.StepPolicyFile:
		data, err := safefile.ReadFile(st.Target, MaxPolicyFile)
		now := ""
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil && st.Seen == "":
			// Unreadable when planned too: the plan writes it, as shown.
			return "", false, nil
		case err != nil:
			return fmt.Sprintf("policy file %s cannot be read now (%v)", st.Target, err), false, nil
		default:
			now = reconcile.FingerprintBytes(data)
		}
		if now == st.Seen {
			return "", false, nil
		}
		return fmt.Sprintf("policy file %s changed since the plan", st.Target), err == nil && string(data) == string(st.Content), nil
	case reconcile.StepMailcowPolicy:
		if e.mailcow == nil {
			return "", false, fmt.Errorf("the plan writes mailcow's policy of %s, but the config has no mailcow: section: run plan again", st.Target)
		}
		body, err := e.mailcow.ServedPolicy(ctx, e.mailcowHost(), st.Target)
		now := ""
		switch {
		case errors.Is(err, mailcow.ErrNoPolicy):
		case err != nil:
			return "", false, fmt.Errorf("checking the saved plan: domain %s: reading the policy mailcow serves: %w", st.Target, err)
		default:
			now = reconcile.FingerprintBytes(body)
		}
		if now == st.Seen {
			return "", false, nil
		}
		isApplied := false
		if p, _, perr := mtasts.ParsePolicy(body); perr == nil && err == nil && st.MailcowSTS != nil {
			want := mtasts.Policy{Mode: mtasts.Mode(st.MailcowSTS.Mode), MaxAge: st.MailcowSTS.MaxAge, MX: st.MailcowSTS.MX}
			isApplied = p.Equal(want)
		}
		return fmt.Sprintf("the policy mailcow serves for %s changed since the plan", st.Target), isApplied, nil
	}
	return "", false, fmt.Errorf("the plan has a step of unknown kind %q: run plan again with this version", st.Kind)
}

// bindRaw gives the plan's records the provider's own handles (ids, the
// form it returned) from the zone just read, so deletes match exactly.
func bindRaw(run *Run, live map[string][]reconcile.Record) {
	for i := range run.Plan.Zones {
		zp := &run.Plan.Zones[i]
		recs := live[zp.Zone+" "+zp.Provider]
		for j := range zp.Changes {
			c := &zp.Changes[j]
			c.Have = bind(c.Have, recs)
			c.Keep = bind(c.Keep, recs)
		}
	}
}

func bind(recs, live []reconcile.Record) []reconcile.Record {
	out := make([]reconcile.Record, len(recs))
	for i, r := range recs {
		out[i] = r
		for _, l := range live {
			if reconcile.Same(l, r) {
				out[i] = l
				break
			}
		}
	}
	return out
}

// show lists records for a message: `TXT "v=STSv1; id=1", CNAME x.` or
// "nothing".
func show(recs []reconcile.Record) string {
	if len(recs) == 0 {
		return "nothing"
	}
	parts := make([]string, len(recs))
	for i, r := range recs {
		parts[i] = r.Type + " " + reconcile.ShowValue(r.Type, r.Value)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// hostMissing says, for each id the plan writes, why its domain's policy
// host would not be in place once the plan is applied (mta-sts.<domain>
// not a CNAME to policy_host), the rule by which a plan holds the id
// back. The plan need not touch that name, so its fingerprints do not
// cover it: a record put there since, or a withheld change edited into a
// create, would otherwise send senders to a host that is not ours. Only
// where policy_host is known offline; a retiring domain's id does not wait.
func (e *Engine) hostMissing(zp reconcile.ZonePlan, live []reconcile.Record) []string {
	if e.cfg.PolicyHost == "" {
		return nil
	}
	host := dnsname.FQDN(e.cfg.PolicyHost)
	var out []string
	for _, c := range zp.Changes {
		if c.Kind != reconcile.KindSTS || (c.Action != reconcile.Create && c.Action != reconcile.Update) {
			continue
		}
		name := dnsname.FQDN("mta-sts." + c.Domain)
		if _, retiring := e.cfg.Retiring(c.Domain); retiring || name == host {
			continue
		}
		var after []reconcile.Record
		for _, r := range zp.After(reconcile.At(live, name), name) {
			dup := slices.ContainsFunc(after, func(a reconcile.Record) bool { return reconcile.Same(a, r) })
			if !dup && r.Type != "RRSIG" && r.Type != "NSEC" && r.Type != "NSEC3" {
				after = append(after, r)
			}
		}
		if len(after) != 1 || after[0].Type != "CNAME" || after[0].Value != host {
			out = append(out, fmt.Sprintf("zone %s: the plan writes the id of %s, but %s would hold %s, not the CNAME to %s: the id waits for the policy host",
				zp.Zone, c.Domain, name, show(after), host))
		}
	}
	return out
}
