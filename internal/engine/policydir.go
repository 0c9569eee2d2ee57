package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mtasts-sync/mtasts-sync/internal/lifecycle"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// With policy.dir every domain has a policy file of its own, laid out the
// way a web server with one document root per host name finds it:
//
//	<dir>/mta-sts.<domain>/.well-known/mta-sts.txt
//
// (nginx: root <dir>/$host; Apache: VirtualDocumentRoot <dir>/%0; Caddy:
// root * <dir>/{host}). One file per domain is what lets a retiring domain
// serve mode none while every other domain keeps its policy.

// PolicyDirFile is where policy.dir keeps domain's policy.
func PolicyDirFile(dir, domain string) string {
	return filepath.Join(dir, "mta-sts."+domain, ".well-known", "mta-sts.txt")
}

// policyDirSteps compares each domain's file under policy.dir with the
// policy the domain serves, and warns where a change leaves senders with
// a cached policy that outlives it (grouped: one line per kind of change).
func (e *Engine) policyDirSteps(inv Inventory, run *Run, prev map[string]mtasts.Policy) {
	type change struct{ old, new mtasts.Policy }
	groups := map[string][]string{}
	changes := map[string]change{}
	for _, t := range inv.Targets {
		if t.Err != nil || t.Policy.Mode == "" {
			continue
		}
		path := PolicyDirFile(e.cfg.Policy.Dir, t.Domain)
		step, old, changed, err := policyFileStep(path, t.Policy)
		if err != nil {
			// One domain's file is its own: apply tries to write it, and
			// if that fails too, holds back only this domain's id.
			step.Action, step.Old, changed = reconcile.Update, []string{"unreadable: " + err.Error()}, true
		}
		if old.Mode != "" {
			prev[t.Domain] = old
		}
		// A retiring domain's own line says how long senders keep the old.
		if old.Mode != "" && !old.Equal(t.Policy) && t.Retire == nil {
			k := old.ID() + " " + t.Policy.ID()
			groups[k] = append(groups[k], t.Domain)
			changes[k] = change{old, t.Policy}
		}
		if changed {
			step.Domain = t.Domain
			run.Plan.Steps = append(run.Plan.Steps, step)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return groups[keys[i]][0] < groups[keys[j]][0] })
	for _, k := range keys {
		what := "policy.dir: the policy of " + listDomains(groups[k])
		run.Plan.Warnings = append(run.Plan.Warnings, lifecycle.ChangeWarnings(what, changes[k].old, changes[k].new, e.opts.Now())...)
	}
}

// listDomains names up to three domains, and how many more.
func listDomains(ds []string) string {
	if len(ds) <= 3 {
		return strings.Join(ds, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ds[:3], ", "), len(ds)-3)
}

// writeDomainPolicy writes one domain's file under policy.dir, making its
// directories as needed.
func writeDomainPolicy(st reconcile.Step) error {
	// <dir>/mta-sts.<domain>/.well-known: the two directories whose layout
	// is ours; a symlink another user put at either is not followed.
	wellKnown := filepath.Dir(st.Target)
	for _, d := range []string{filepath.Dir(wellKnown), wellKnown} {
		if err := safefile.CheckLink(d); err != nil {
			return fmt.Errorf("policy.dir: the policy of %s: %w", st.Domain, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(st.Target), 0o755); err != nil {
		return fmt.Errorf("policy.dir: the policy of %s: %w", st.Domain, err)
	}
	if err := safefile.WriteFile(st.Target, st.Content, 0o644); err != nil {
		return fmt.Errorf("policy.dir: the policy of %s: %w", st.Domain, err)
	}
	return nil
}
