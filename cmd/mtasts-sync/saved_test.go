package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mtasts-sync/mtasts-sync/internal/mailcow/mailcowtest"
	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// zoneFiles returns every zone file under the config's zones/ directory,
// byte for byte, by name.
func zoneFiles(t *testing.T, cfg string) map[string]string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(cfg), "zones")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s lacks %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// savedPlan runs plan --out and returns the file.
func savedPlan(t *testing.T, cfg string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "mtasts.plan")
	r := runCLI(t, nil, append([]string{"plan", "--config", cfg, "-out", out}, args...)...) // Terraform's spelling
	if r.code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return out
}

// ourNames lists the names of ours in every zone file: mta-sts, _mta-sts
// and _smtp._tls records.
func ourNames(t *testing.T, cfg string) []string {
	t.Helper()
	var out []string
	for _, z := range []string{"example.com", "example.org", "example.net"} {
		for _, l := range zoneLines(t, filepath.Join(filepath.Dir(cfg), "zones", z+".zone")) {
			if ours(l) {
				out = append(out, strings.Fields(l)[0])
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestSavedPlanAppliesExactly: plan -out, then a domain is added to the
// config: apply FILE does what was reviewed and nothing for the new
// domain; the same file again refuses and writes nothing.
func TestSavedPlanAppliesExactly(t *testing.T) {
	cfg := quickstart(t)
	plan := savedPlan(t, cfg)
	planText := runCLI(t, nil, "plan", "--config", cfg).stdout

	// Meanwhile a domain is added to the config.
	replaceIn(t, cfg, "  - example.com    # already in sync\n", "  - example.com    # already in sync\n  - shop.example.org\n")
	if r := runCLI(t, nil, "plan", "--config", cfg); !strings.Contains(r.stdout, "shop.example.org") {
		t.Fatalf("a fresh plan does not see the new domain:\n%s", r.stdout)
	}
	r := runCLI(t, nil, "apply", plan)
	// The quickstart's conflict is left alone: exit 1 after applying the rest.
	if r.code != exitError || !strings.Contains(r.stdout, "Applied 4 change(s) in 2 zone(s).") {
		t.Fatalf("apply FILE: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "Saved plan "+plan+", made ") || !strings.Contains(r.stdout, planText) {
		t.Errorf("apply FILE does not show the saved plan:\n%s\nwant it to contain:\n%s", r.stdout, planText)
	}
	if !strings.Contains(r.stderr, "changed since the plan was made; apply takes its credentials from it, holds the saved plan against it") {
		t.Errorf("no note that the config changed: %q", r.stderr)
	}
	for _, n := range ourNames(t, cfg) {
		if strings.Contains(n, "shop.") {
			t.Errorf("apply FILE created %s, which the plan did not hold", n)
		}
	}

	// Twice: refused, nothing written.
	before := zoneFiles(t, cfg)
	r = runCLI(t, nil, "apply", plan)
	if r.code != exitError || !strings.Contains(r.stderr, "was applied already; nothing was written") || !strings.Contains(r.stderr, "run plan again") {
		t.Errorf("second apply FILE: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if diff := cmp.Diff(before, zoneFiles(t, cfg)); diff != "" {
		t.Errorf("the refused apply wrote:\n%s", diff)
	}
}

// TestSavedPlanOwnedRecordEdited: an owned record edited between plan and
// apply makes the plan stale: refused, nothing written.
func TestSavedPlanOwnedRecordEdited(t *testing.T) {
	cfg := quickstart(t)
	plan := savedPlan(t, cfg)
	org := filepath.Join(filepath.Dir(cfg), "zones", "example.org.zone")
	replaceIn(t, org, `"v=STSv1; id=20240101"`, `"v=STSv1; id=20240202"`)
	before := zoneFiles(t, cfg)
	r := runCLI(t, nil, "apply", plan)
	if r.code != exitError {
		t.Fatalf("apply of a stale plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"stale", `_mta-sts.example.org.: the plan saw TXT "owner=postmaster", TXT "v=STSv1; id=20240101", the zone now holds TXT "owner=postmaster", TXT "v=STSv1; id=20240202"`, "run plan again", "nothing was written"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("message lacks %q:\n%s", want, r.stderr)
		}
	}
	if diff := cmp.Diff(before, zoneFiles(t, cfg)); diff != "" {
		t.Errorf("the refused apply wrote:\n%s", diff)
	}
}

// TestSavedPlanForeignRecordAdded: records added elsewhere in the zone do
// not make the plan stale, and survive it.
func TestSavedPlanForeignRecordAdded(t *testing.T) {
	cfg := quickstart(t)
	plan := savedPlan(t, cfg)
	org := filepath.Join(filepath.Dir(cfg), "zones", "example.org.zone")
	appendTo(t, org, "www2 IN A 192.0.2.99\n_dmarc IN TXT \"v=DMARC1; p=none\"\n")
	r := runCLI(t, nil, "apply", plan)
	if !strings.Contains(r.stdout, "Applied 4 change(s) in 2 zone(s).") {
		t.Fatalf("apply FILE: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := zoneLines(t, org)
	for _, want := range []string{"www2.example.org.\t3600\tIN\tA\t192.0.2.99", "_dmarc.example.org.\t3600\tIN\tTXT\t\"v=DMARC1; p=none\""} {
		if !containsLine(lines, want) {
			t.Errorf("foreign record %q lost:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if r := runCLI(t, nil, "plan", "--config", cfg); !strings.Contains(r.stdout, "Plan: 0 to add, 0 to change, 0 to delete") {
		t.Errorf("plan after apply FILE:\n%s", r.stdout)
	}
}

// TestSavedPlanRefusals: what apply FILE refuses before writing anything.
func TestSavedPlanRefusals(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, cfg, plan string) []string // returns extra args
		code  int
		want  string
	}{
		{"future format", func(t *testing.T, cfg, plan string) []string {
			replaceIn(t, plan, `"format_version": 1`, `"format_version": 2`)
			return nil
		}, exitError, "made with plan file format 2; this mtasts-sync reads format 1 only: run plan again"},
		{"provider moved", func(t *testing.T, cfg, plan string) []string {
			if err := os.Rename(filepath.Join(filepath.Dir(cfg), "zones"), filepath.Join(filepath.Dir(cfg), "other")); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(filepath.Dir(cfg), "zones"), 0o755); err != nil {
				t.Fatal(err)
			}
			replaceIn(t, cfg, "directory: ./zones", "directory: ./other")
			return nil
		}, exitError, "saved plan PLAN: it is stale: what it changes moved since it was made; nothing was written:\n  provider files in CFG changed its type or settings"},
		{"--domain", func(t *testing.T, cfg, plan string) []string {
			return []string{"--domain", "example.org"}
		}, exitUsage, "--domain cannot narrow a saved plan"},
		{"not a plan", func(t *testing.T, cfg, plan string) []string {
			if err := os.WriteFile(plan, []byte("zone example.org\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return nil
		}, exitError, "not a plan file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := quickstart(t)
			plan := savedPlan(t, cfg)
			extra := tt.spoil(t, cfg, plan)
			before := zoneFiles(t, cfg)
			r := runCLI(t, nil, append([]string{"apply", plan}, extra...)...)
			want := strings.NewReplacer("CFG", cfg, "PLAN", plan).Replace(tt.want)
			if r.code != tt.code || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", r.code, tt.code, r.stderr, want)
			}
			if diff := cmp.Diff(before, zoneFiles(t, cfg)); diff != "" {
				t.Errorf("the refused apply wrote:\n%s", diff)
			}
		})
	}
}

// TestSavedPlanWhy: an id change says which policy fields changed, in the
// text, in JSON and in the saved plan, on the TXT and the policy.file step.
func TestSavedPlanWhy(t *testing.T) {
	cfg := quickstart(t)
	dir := filepath.Dir(cfg)
	// The file holds the quickstart's policy (testing), and example.org's
	// id is that policy's.
	if err := os.WriteFile(filepath.Join(dir, "mta-sts.txt"), quickstartPolicy.Render(), 0o644); err != nil {
		t.Fatal(err)
	}
	replaceIn(t, filepath.Join(dir, "zones", "example.org.zone"), `"v=STSv1; id=20240101"`, `"v=STSv1; id=`+quickstartPolicy.ID()+`"`)
	replaceIn(t, cfg, "  mode: testing\n  max_age: 604800\n  mx: [mail.example.com]\n", "  mode: enforce\n  max_age: 1209600\n  mx: [mail.example.com]\n  file: mta-sts.txt\n")
	const why = "policy: mode testing -> enforce, max_age 604800 -> 1209600"
	plan := savedPlan(t, cfg)
	for _, r := range []result{runCLI(t, nil, "plan", "--config", cfg), runCLI(t, nil, "show", plan)} {
		for _, want := range []string{
			"~ policy-file " + filepath.Join(dir, "mta-sts.txt") + ": id " + quickstartPolicy.ID() + " -> id ",
			`~ _mta-sts.example.org. TXT "v=STSv1; id=` + quickstartPolicy.ID() + `" -> "v=STSv1; id=`,
		} {
			i := strings.Index(squash(r.stdout), squash(want))
			if i < 0 || !strings.Contains(strings.SplitN(squash(r.stdout)[i:], "\n", 2)[0], "("+why+")") {
				t.Errorf("output lacks %q ... (%s):\n%s", want, why, r.stdout)
			}
		}
	}
	r := runCLI(t, nil, "show", plan, "--output", "json")
	var doc struct {
		Steps   []struct{ Reason string }
		Changes []struct{ Name, Why string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range doc.Changes {
		found = found || (c.Name == "_mta-sts.example.org." && c.Why == why)
	}
	if !found || len(doc.Steps) != 1 || doc.Steps[0].Reason != why {
		t.Errorf("JSON lacks the why: %s", r.stdout)
	}
}

// TestShowNeedsNoNetwork: show reads only the file: the mailcow it was
// planned against is gone, and so is the config. The file holds no secret.
func TestShowNeedsNoNetwork(t *testing.T) {
	mc, cfg := mailcowSetup(t, "")
	mc.SetSTS(stsEntry("example.com", mtasts.ModeEnforce, 86400))
	plan := savedPlan(t, cfg)
	text := runCLI(t, nil, "plan", "--config", cfg).stdout
	mc.Close()
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(mailcowKey)) {
		t.Errorf("the plan file holds the mailcow API key")
	}
	r := runCLI(t, nil, "show", plan)
	if r.code != 0 || !strings.Contains(r.stdout, text) {
		t.Errorf("show: exit %d\n%s%s\nwant:\n%s", r.code, r.stdout, r.stderr, text)
	}
	r = runCLI(t, nil, "show", plan, "-o", "json")
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("show --output json: %v\n%s", err, r.stdout)
	}
	for _, k := range []string{"format_version", "saved", "steps", "changes", "zones", "skipped", "warnings", "summary"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("show --output json lacks %q", k)
		}
	}
	if string(doc["format_version"]) != "1" {
		t.Errorf("format_version = %s", doc["format_version"])
	}
}

// TestSavedPlanMailcowModes: with each of mailcow's three policy modes, a
// domain added in mailcow between plan and apply FILE is left for the next
// plan, and apply FILE does not ask mailcow for domains again.
func TestSavedPlanMailcowModes(t *testing.T) {
	for _, tt := range []struct{ name, extra string }{
		{"mailcow serves", ""},
		{"mailcow managed", "  manage_policy: true\npolicy:\n  mode: enforce\n  max_age: 604800\n"},
		{"config policy", "policy:\n  mode: enforce\n  max_age: 604800\n  mx: [mail.example.com]\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mc, cfg := mailcowSetup(t, tt.extra)
			for _, d := range []string{"example.com", "example.org", "xn--bcher-kva.example.com"} {
				mc.SetSTS(stsEntry(d, mtasts.ModeTesting, 86400))
			}
			plan := savedPlan(t, cfg)
			mc.AddDomain(mailcowtest.Domain{Name: "shop.example.com", Active: true})
			mc.SetSTS(stsEntry("shop.example.com", mtasts.ModeTesting, 86400))
			entries := len(mc.STS())
			if tt.name != "mailcow managed" {
				// Nothing to write there: any API call (a domain list) fails.
				mc.Fail(500, `{"type":"error","msg":"no API calls expected"}`, "application/json")
			}
			r := runCLI(t, nil, "apply", plan)
			if r.code != 0 {
				t.Fatalf("apply FILE: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			names := ourNames(t, cfg)
			for _, n := range names {
				if strings.Contains(n, "shop.") {
					t.Errorf("apply FILE created %s for a domain added after the plan", n)
				}
			}
			if len(names) == 0 {
				t.Errorf("apply FILE created nothing:\n%s", r.stdout)
			}
			if tt.name == "mailcow managed" {
				got := mc.STS()
				if got["example.com"].Mode != "enforce" || got["shop.example.com"].Mode != "testing" || len(got) != entries {
					t.Errorf("mailcow entries after apply FILE: %+v", got)
				}
				for _, c := range mc.Calls() {
					if strings.Contains(c.Body, "shop.example.com") {
						t.Errorf("apply FILE wrote mailcow's entry of a domain added after the plan: %s %s", c.Path, c.Body)
					}
				}
			}
			mc.Fail(0, "", "")
			// A fresh plan now sees the new domain and nothing else.
			r = runCLI(t, nil, "plan", "--config", cfg)
			if !strings.Contains(r.stdout, "shop.example.com") || !strings.Contains(r.stdout, "Plan: 3 to add, ") {
				t.Errorf("plan after apply FILE:\n%s", r.stdout)
			}
		})
	}
}

// TestSavedPlanGateAtApply: the publish gate runs again when a saved plan
// is applied: a policy no longer served as planned holds its id back, and
// the output says so.
func TestSavedPlanGateAtApply(t *testing.T) {
	cfg := gateConfig(t)
	removeLine(t, filepath.Join(filepath.Dir(cfg), "zones", "example.net.zone"), "mta-sts ")
	web := startPolicyWeb(t, "example.org", "example.net")
	web.serve("example.org", quickstartPolicy.Render())
	web.serve("example.net", quickstartPolicy.Render())
	out := filepath.Join(t.TempDir(), "p.plan")
	d := web.dialer("example.org", "example.net")
	if r := runWith(t, d, "plan", "--config", cfg, "--ca-file", web.caFile, "--out", out); r.code != 0 || strings.Contains(r.stdout, "withheld") {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Before apply, example.org's web server goes back to another policy.
	enforce := mtasts.Policy{Mode: mtasts.ModeEnforce, MaxAge: 604800, MX: []string{"mail.example.com"}}
	web.serve("example.org", enforce.Render())
	r := runWith(t, d, "apply", out, "--ca-file", web.caFile)
	if r.code != 0 {
		t.Fatalf("apply FILE: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Held back at apply time: _mta-sts.example.org. TXT (https://mta-sts.example.org/.well-known/mta-sts.txt serves another policy") {
		t.Errorf("apply FILE does not say the gate held the id:\n%s", r.stdout)
	}
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "zones", "example.org.zone"))
	if !bytes.Contains(b, []byte("id=20240101")) {
		t.Errorf("the held id was written:\n%s", b)
	}
}

// TestSavedPlanPolicyMoved: what a policy step replaces moved since the
// plan (the policy file edited, mailcow's entry edited): refused, nothing
// written.
func TestSavedPlanPolicyMoved(t *testing.T) {
	t.Run("policy file", func(t *testing.T) {
		cfg := quickstart(t)
		policy := filepath.Join(filepath.Dir(cfg), "mta-sts.txt")
		if err := os.WriteFile(policy, []byte("version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		replaceIn(t, cfg, "  mx: [mail.example.com]\n", "  mx: [mail.example.com]\n  file: mta-sts.txt\n")
		plan := savedPlan(t, cfg)
		edited := []byte("version: STSv1\r\nmode: none\r\nmax_age: 3600\r\n")
		if err := os.WriteFile(policy, edited, 0o644); err != nil {
			t.Fatal(err)
		}
		before := zoneFiles(t, cfg)
		r := runCLI(t, nil, "apply", plan)
		if r.code != exitError || !strings.Contains(r.stderr, "policy file "+policy+" changed since the plan") {
			t.Errorf("exit %d\n%s", r.code, r.stderr)
		}
		if got, _ := os.ReadFile(policy); !bytes.Equal(got, edited) {
			t.Errorf("the refused apply wrote the policy file: %q", got)
		}
		if diff := cmp.Diff(before, zoneFiles(t, cfg)); diff != "" {
			t.Errorf("the refused apply wrote:\n%s", diff)
		}
	})
	t.Run("mailcow entry", func(t *testing.T) {
		mc, cfg := mailcowSetup(t, "  manage_policy: true\npolicy:\n  mode: enforce\n  max_age: 604800\n")
		mc.SetSTS(stsEntry("example.com", mtasts.ModeTesting, 604800))
		plan := savedPlan(t, cfg)
		mc.SetSTS(stsEntry("example.com", mtasts.ModeTesting, 86400))
		before := zoneFiles(t, cfg)
		r := runCLI(t, nil, "apply", plan)
		if r.code != exitError || !strings.Contains(r.stderr, "the policy mailcow serves for example.com changed since the plan") {
			t.Errorf("exit %d\n%s", r.code, r.stderr)
		}
		if calls := mc.Calls(); len(calls) != 0 {
			t.Errorf("the refused apply wrote to mailcow: %+v", calls)
		}
		if diff := cmp.Diff(before, zoneFiles(t, cfg)); diff != "" {
			t.Errorf("the refused apply wrote:\n%s", diff)
		}
	})
}
