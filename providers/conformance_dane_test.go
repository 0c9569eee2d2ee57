package providers_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
	"github.com/mtasts-sync/mtasts-sync/internal/engine"
	"github.com/mtasts-sync/mtasts-sync/internal/planfile"
	"github.com/mtasts-sync/mtasts-sync/reconcile"
)

const daneName = "_25._tcp." + policyHost + "."

// daneKey writes a fresh public key to a PEM file and returns the file and the key.
func daneKey(t *testing.T, dir, name string) (string, dane.Key) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := dane.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, key
}

// daneLines are our TLSA records for keys and the marker listing them.
func daneLines(keys ...dane.Key) []string {
	var lines, hexes []string
	for _, k := range keys {
		lines = append(lines, daneName+" 3600 IN TLSA "+k.Record().String())
		hexes = append(hexes, k.Digest())
	}
	if len(hexes) > 1 && hexes[0] > hexes[1] {
		hexes[0], hexes[1] = hexes[1], hexes[0]
	}
	return append(lines, fmt.Sprintf("%s 3600 IN TXT %q", daneName, reconcile.DANEMarker+" tlsa="+strings.Join(hexes, " ")))
}

// Scenario: DANE TLSA for the policy host through a key rollover: create
// beside a foreign TLSA and TXT at the name, rerun plans nothing, the next
// key beside the current one, the old one removed after the swap, and a
// final rerun plans nothing. The foreign records survive throughout.
func scenarioDANE(t *testing.T, pc providerCase) {
	seed := baseForeign()
	foreign := []string{
		daneName + " 3600 IN TLSA 2 1 1 " + strings.Repeat("5a", 32),
		daneName + ` 3600 IN TXT "kept by someone else"`,
	}
	seed[0].records = append(seed[0].records, foreign...)
	tg := pc.setup(t, seed)
	dir := t.TempDir()
	fileA, keyA := daneKey(t, dir, "a.pem")
	fileB, keyB := daneKey(t, dir, "b.pem")
	base := tg.config(maxAge)
	id := policyID(t, base)
	before := dumps(t, tg)
	want := func(keys ...dane.Key) {
		t.Helper()
		after := dumps(t, tg)
		sameZone(t, zoneCom, after[zoneCom], union(before[zoneCom], ours(t, zoneCom, id), canonical(t, daneLines(keys...))))
		sameZone(t, zoneOrg, after[zoneOrg], union(before[zoneOrg], ours(t, zoneOrg, id)))
	}
	steps := []struct {
		what, dane string
		keys       []dane.Key
	}{
		{"create", "  cert_file: " + fileA + "\n", []dane.Key{keyA}},
		{"next key", "  cert_file: " + fileA + "\n  next_cert_file: " + fileB + "\n", []dane.Key{keyA, keyB}},
		{"after the swap", "  cert_file: " + fileB + "\n", []dane.Key{keyB}},
	}
	for _, st := range steps {
		text := base + "dane:\n" + st.dane
		run, rep := planApply(t, tg, text)
		if rep.Err != nil {
			t.Fatalf("%s: apply: %v\n%s", st.what, rep.Err, planText(run.Plan))
		}
		want(st.keys...)
		if t.Failed() {
			t.Fatalf("%s: plan was\n%s", st.what, planText(run.Plan))
		}
		writes := watchWrites(t, tg)
		if tg.mw != nil {
			tg.mw.ResetCounts()
		}
		run, rep = planApply(t, tg, text)
		if rep.Err != nil {
			t.Fatalf("%s: rerun: %v", st.what, rep.Err)
		}
		nothingPending(t, run)
		if w := writes(); w != "" {
			t.Errorf("%s: rerun wrote: %s", st.what, w)
		}
		t.Logf("request counts, DANE rerun (%s) plan+apply on %s: %s", st.what, pc.typ, requestCounts(tg))
	}
}

// Scenario: a saved plan carries TLSA changes like any other: it applies
// exactly the next key's record and marker, refuses once applied, and
// refuses, writing nothing, when someone changed the TLSA RRset at the
// name between plan and apply.
func scenarioDANESavedPlan(t *testing.T, pc providerCase) {
	tg := pc.setup(t, baseForeign())
	dir := t.TempDir()
	fileA, keyA := daneKey(t, dir, "a.pem")
	fileB, keyB := daneKey(t, dir, "b.pem")
	base := tg.config(maxAge) + "dane:\n  cert_file: " + fileA + "\n"
	next := base + "  next_cert_file: " + fileB + "\n"
	converge(t, tg, base)

	run, _ := savePlan(t, tg, next)
	if s := run.Plan.Summary(); s.Update != 2 || s.Create+s.Delete != 0 {
		t.Fatalf("saved plan: %+v, want the TLSA set and its marker updated\n%s", s, planText(run.Plan))
	}
	// Someone puts a record of their own into the TLSA RRset we change.
	spare := reconcile.Record{Name: daneName, Type: "TLSA", Value: "3 1 1 " + strings.Repeat("7e", 32), TTL: time.Hour}
	edit(t, tg, next, zoneCom, reconcile.RRsetWrite{Name: daneName, Type: "TLSA", Want: []reconcile.Record{spare}})
	before := dumps(t, tg)
	writes := watchWrites(t, tg)
	_, err := applySaved(t, tg, next, run)
	var stale *engine.StaleError
	if !errors.As(err, &stale) || stale.Applied || !strings.Contains(err.Error(), daneName) {
		t.Fatalf("apply after the TLSA RRset changed: %v, want it refused as stale naming %s", err, daneName)
	}
	if w := writes(); w != "" {
		t.Errorf("the refused apply wrote: %s", w)
	}
	sameZone(t, zoneCom, dumps(t, tg)[zoneCom], before[zoneCom])

	// Planned again: applied exactly, the spare key kept as foreign.
	run, data := savePlan(t, tg, next)
	if rep, err := applySaved(t, tg, next, run); err != nil || rep.Err != nil {
		t.Fatalf("apply of the saved plan: %v %v", err, rep.Err)
	}
	want := union(minus(before[zoneCom], canonical(t, daneLines(keyA))), canonical(t, daneLines(keyA, keyB)))
	sameZone(t, zoneCom, dumps(t, tg)[zoneCom], want)
	f, err := planfile.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applySaved(t, tg, next, &engine.Run{Plan: f.Plan()}); !errors.As(err, &stale) || !stale.Applied {
		t.Errorf("second apply of the same file: %v, want it refused as applied already", err)
	}
}
