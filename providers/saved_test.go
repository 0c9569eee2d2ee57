package providers_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/planfile"
	"github.com/mtasts-sync/mtasts-sync/providers"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

// savePlan plans text and returns the plan as `plan -out` saves it and
// `apply FILE` reads it back, and the file's bytes.
func savePlan(t *testing.T, tg *target, text string) (*engine.Run, []byte) {
	t.Helper()
	_, run := plan(t, tg, text)
	cfg := parseConfig(t, text)
	data, err := planfile.New(run.Plan, planfile.Meta{ToolVersion: "test", Created: time.Now(), ConfigPath: cfg.Path,
		ConfigContent: []byte(text), Config: cfg}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f, err := planfile.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading the saved plan back: %v", err)
	}
	return &engine.Run{Plan: f.Plan()}, data
}

// applySaved applies a saved plan with a fresh engine, as `apply FILE` does.
func applySaved(t *testing.T, tg *target, text string, run *engine.Run) (engine.Report, error) {
	t.Helper()
	ctx := withTimeout(t)
	eng, err := engine.New(ctx, parseConfig(t, text), engine.Options{Providers: tg.opts, NoPublishGate: true})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return eng.ApplySaved(ctx, run)
}

// edit writes one RRset of zone through the provider's real client, the
// way someone else's tool would, between plan and apply.
func edit(t *testing.T, tg *target, text, zone string, w reconcile.RRsetWrite) {
	t.Helper()
	cfg := parseConfig(t, text)
	pc := cfg.Providers[tg.block.name]
	o := tg.opts
	o.BaseDir = cfg.Dir
	p, err := providers.Build(withTimeout(t), pc.Name, pc.Type, pc.Values(), o)
	if err != nil {
		t.Fatal(err)
	}
	z := p.Zone(zone)
	if len(w.Have) > 0 {
		live, err := z.Records(withTimeout(t))
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range w.Have {
			for _, l := range live {
				if reconcile.Same(l, h) {
					w.Have[i] = l
				}
			}
		}
	}
	if err := z.WriteRRset(withTimeout(t), w); err != nil {
		t.Fatalf("editing %s %s: %v", w.Name, w.Type, err)
	}
}

func txt(name, value string) reconcile.Record {
	return reconcile.Record{Name: name, Type: "TXT", Value: value, TTL: time.Hour}
}

// Scenario 8: a saved plan applies exactly what it holds, on every
// provider: foreign records added elsewhere meanwhile do not matter, a
// second apply of the same file refuses, an owned record edited meanwhile
// makes it refuse, and the file holds no secret.
func scenarioSavedPlan(t *testing.T, pc providerCase) {
	tg := pc.setup(t, baseForeign())
	oldText, newText := tg.config(maxAge), tg.config(86400)
	newID := policyID(t, newText)
	converge(t, tg, oldText)

	run, data := savePlan(t, tg, newText)
	if s := run.Plan.Summary(); s.Update != 3 {
		t.Fatalf("saved plan: %+v, want 3 id updates\n%s", s, planText(run.Plan))
	}
	cfg := parseConfig(t, newText)
	secrets := 0
	for _, p := range cfg.Providers {
		for k, v := range p.Secrets {
			secrets++
			if bytes.Contains(data, []byte(v.Reveal())) {
				t.Errorf("the plan file holds the secret %s of provider %s", k, p.Name)
			}
		}
	}
	if secrets == 0 && pc.typ != "zonefile" {
		t.Errorf("provider %s has no secret to look for", pc.typ)
	}

	// Someone adds a record elsewhere in the zone: not the plan's business.
	www := txt("www.example.org.", "added after the plan")
	edit(t, tg, newText, zoneOrg, reconcile.RRsetWrite{Name: www.Name, Type: "TXT", Want: []reconcile.Record{www}})
	before := dumps(t, tg)
	rep, err := applySaved(t, tg, newText, run)
	if err != nil || rep.Err != nil {
		t.Fatalf("apply of the saved plan: %v %v", err, rep.Err)
	}
	after := dumps(t, tg)
	for _, z := range suiteZones {
		var old []string
		for _, d := range mailDomains[z] {
			old = append(old, stsLine(d, policyID(t, oldText)))
		}
		var fresh []string
		for _, d := range mailDomains[z] {
			fresh = append(fresh, stsLine(d, newID))
		}
		sameZone(t, z, after[z], union(minus(before[z], canonical(t, old)), canonical(t, fresh)))
	}

	// The same file again: applied already, nothing written.
	writes := watchWrites(t, tg)
	f, err := planfile.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, err = applySaved(t, tg, newText, &engine.Run{Plan: f.Plan()})
	var stale *engine.StaleError
	if !errors.As(err, &stale) || !stale.Applied {
		t.Errorf("second apply of the same file: err = %v, want it refused as applied already", err)
	}
	if w := writes(); w != "" {
		t.Errorf("the refused apply wrote: %s", w)
	}

	// An owned record edited between plan and apply: refused, nothing written.
	run, _ = savePlan(t, tg, oldText)
	cur := txt("_mta-sts.example.org.", "v=STSv1; id="+newID)
	edited := txt("_mta-sts.example.org.", "v=STSv1; id=editedbyhand")
	edit(t, tg, oldText, zoneOrg, reconcile.RRsetWrite{Name: cur.Name, Type: "TXT", Have: []reconcile.Record{cur}, Want: []reconcile.Record{edited}})
	before = dumps(t, tg)
	writes = watchWrites(t, tg)
	_, err = applySaved(t, tg, oldText, run)
	if !errors.As(err, &stale) || stale.Applied {
		t.Errorf("apply after an owned record was edited: err = %v, want it refused as stale", err)
	}
	if w := writes(); w != "" {
		t.Errorf("the refused apply wrote: %s", w)
	}
	after = dumps(t, tg)
	for _, z := range suiteZones {
		sameZone(t, z, after[z], before[z])
	}
}
