package providers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// applyAt is one apply run with the clock at now.
func applyAt(t *testing.T, tg *target, text string, now time.Time) *engine.Run {
	t.Helper()
	ctx := withTimeout(t)
	eng, err := engine.New(ctx, parseConfig(t, text), engine.Options{Providers: tg.opts, NoPublishGate: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	run, err := eng.Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if rep := eng.Apply(ctx, run); rep.Err != nil {
		t.Fatalf("apply: %v\n%s", rep.Err, planText(run.Plan))
	}
	return run
}

// Scenario: a domain's end on every provider. example.org, among foreign
// records at its very names, goes to retire:: on the day its id becomes
// mode none's (its own file under policy.dir); after max_age and the day
// its three records go and the zone is what it was before we came.
func scenarioRetire(t *testing.T, pc providerCase) {
	tg := pc.setup(t, richForeign())
	dir := t.TempDir()
	keep := strings.Replace(tg.config(maxAge), "  mx: ["+policyHost+"]\n", "  mx: ["+policyHost+"]\n  dir: "+dir+"\n", 1)
	before := dumps(t, tg)
	applyAt(t, tg, keep, time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC))
	born := dumps(t, tg)

	retire := strings.Replace(keep, "domains: [example.com, eu.example.com, example.org]\n",
		"domains: [example.com, eu.example.com]\nretire:\n  example.org: 2026-11-20\n", 1)
	none := mtasts.Policy{Mode: mtasts.ModeNone, MaxAge: maxAge, MX: []string{policyHost}}.ID()
	run := applyAt(t, tg, retire, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	if len(run.Plan.Retiring) != 1 || run.Plan.Retiring[0].Stage != "retiring" {
		t.Errorf("retiring: %+v", run.Plan.Retiring)
	}
	retiring := dumps(t, tg)
	sameZone(t, zoneOrg, retiring[zoneOrg], union(before[zoneOrg], ours(t, zoneOrg, none)))
	sameZone(t, zoneCom, retiring[zoneCom], born[zoneCom])

	run = applyAt(t, tg, retire, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	if len(run.Plan.Retiring) != 1 || run.Plan.Retiring[0].Stage != "removing" {
		t.Errorf("removing: %+v", run.Plan.Retiring)
	}
	gone := dumps(t, tg)
	sameZone(t, zoneOrg, gone[zoneOrg], before[zoneOrg])
	sameZone(t, zoneCom, gone[zoneCom], born[zoneCom])

	run = applyAt(t, tg, retire, time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC))
	nothingPending(t, run)
	if len(run.Plan.Retiring) != 1 || run.Plan.Retiring[0].Stage != "retired" {
		t.Errorf("retired: %+v", run.Plan.Retiring)
	}
}
