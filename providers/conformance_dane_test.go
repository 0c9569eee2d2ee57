package providers_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtasts-sync/mtasts-sync/internal/dane"
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
		run, rep = planApply(t, tg, text)
		if rep.Err != nil {
			t.Fatalf("%s: rerun: %v", st.what, rep.Err)
		}
		nothingPending(t, run)
		if w := writes(); w != "" {
			t.Errorf("%s: rerun wrote: %s", st.what, w)
		}
	}
}
