package mailcow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFlagForms(t *testing.T) {
	tests := []struct {
		in      string
		want    flag
		wantErr bool
	}{
		{`"1"`, flag{set: true, on: true}, false},
		{`"0"`, flag{set: true}, false},
		{`1`, flag{set: true, on: true}, false},
		{`0`, flag{set: true}, false},
		{`2`, flag{set: true, on: true}, false},
		{`true`, flag{set: true, on: true}, false},
		{`false`, flag{set: true}, false},
		{`"true"`, flag{set: true, on: true}, false},
		{`""`, flag{set: true}, false},
		{`null`, flag{}, false},
		{`"yes"`, flag{other: `"yes"`}, false}, // another field may decide
		{`"Ja"`, flag{other: `"Ja"`}, false},
		{`[]`, flag{}, true},
	}
	for _, tt := range tests {
		var f flag
		err := json.Unmarshal([]byte(tt.in), &f)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && f != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.in, f, tt.want)
		}
	}
}

func TestDecodeDomains(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Domain
		wantErr string
	}{
		{"empty list", `[]`, []Domain{}, ""},
		{"empty object", `{}`, []Domain{}, ""},
		{"null", `null`, []Domain{}, ""},
		{"blank", ` `, nil, "empty answer"},
		{"localised text beside _int", `[{"domain_name":"a.example","active":"Yes","active_int":1,"backupmx":"No","backupmx_int":0}]`,
			[]Domain{{Name: "a.example", Active: true}}, ""},
		{"no active flag at all", `[{"domain_name":"a.example","backupmx":0}]`, nil, "domain a.example: active is missing"},
		{"string flags", `[{"domain_name":"a.example","active":"1","backupmx":"0","tags":["x"]}]`,
			[]Domain{{Name: "a.example", Active: true, Tags: []string{"x"}}}, ""},
		{"int flags", `[{"domain_name":"A.Example.","active":1,"backupmx":1}]`,
			[]Domain{{Name: "a.example", Active: true, BackupMX: true}}, ""},
		{"bool flags", `[{"domain_name":"a.example","active":true,"backupmx":false,"tags":null}]`,
			[]Domain{{Name: "a.example", Active: true}}, ""},
		{"only _int flags", `[{"domain_name":"a.example","active_int":"1","backupmx_int":"1"}]`,
			[]Domain{{Name: "a.example", Active: true, BackupMX: true}}, ""},
		{"single object", `{"domain_name":"a.example","active":"1","backupmx":"0"}`,
			[]Domain{{Name: "a.example", Active: true}}, ""},
		{"keyed object", `{"1":{"domain_name":"b.example","active":0,"backupmx":0},"0":{"domain_name":"a.example","active":1,"backupmx":0}}`,
			[]Domain{{Name: "a.example", Active: true}, {Name: "b.example"}}, ""},
		{"tags as object", `[{"domain_name":"a.example","active":1,"backupmx":0,"tags":{"0":"p","1":"q"}}]`,
			[]Domain{{Name: "a.example", Active: true, Tags: []string{"p", "q"}}}, ""},
		{"idn", `[{"domain_name":"bücher.example","active":1,"backupmx":0}]`,
			[]Domain{{Name: "xn--bcher-kva.example", Active: true}}, ""},
		{"bad name named", `[{"domain_name":"bad name!.example","active":1}]`, nil, `"bad name!.example"`},
		{"missing name", `[{"active":1}]`, nil, "no domain_name"},
		{"bad flag", `[{"domain_name":"a.example","active":"maybe","backupmx":0}]`, nil, `domain a.example: active is "maybe", neither 0/1 nor true/false`},
		{"not json", `<html>`, nil, "expected a JSON list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeDomains([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("domains (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeAliasDomains(t *testing.T) {
	got, err := decodeAliasDomains([]byte(`[{"alias_domain":"Alias.Example","target_domain":"bücher.example","active":"1"},{"alias_domain":"b.example","target_domain":"a.example","active":0}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []AliasDomain{{Name: "alias.example", Target: "xn--bcher-kva.example", Active: true}, {Name: "b.example", Target: "a.example"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alias domains (-want +got):\n%s", diff)
	}
	if _, err := decodeAliasDomains([]byte(`[{"alias_domain":"a.example"}]`)); err == nil {
		t.Error("alias domain without target accepted")
	}
	if _, err := decodeAliasDomains([]byte(`[{"alias_domain":"a.example","target_domain":"-bad-"}]`)); err == nil || !strings.Contains(err.Error(), "-bad-") {
		t.Errorf("bad target: err = %v, want it named", err)
	}
}

func TestAPIErrorMessage(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{`{"type":"error","msg":"authentication failed"}`, "authentication failed", true},
		{`[{"type":"danger","log":[],"msg":["mx_invalid","bad"]}]`, "mx_invalid bad", true},
		{`[{"type":"success","msg":"ok"},{"type":"danger","msg":"access_denied"}]`, "access_denied", true},
		{`{"type":"success","msg":"Task completed"}`, "", false},
		{`[{"domain_name":"a.example"}]`, "", false},
		{`{}`, "", false},
		{`plain`, "", false},
	}
	for _, tt := range tests {
		got, ok := apiErrorMessage([]byte(tt.in))
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("%s: got %q,%v want %q,%v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestDiscover(t *testing.T) {
	domains := []Domain{
		{Name: "b.example", Active: true},
		{Name: "a.example", Active: true},
		{Name: "off.example", Active: false},
		{Name: "relay.example", Active: true, BackupMX: true},
		{Name: "a.example", Active: true}, // listed twice: kept once
	}
	aliases := []AliasDomain{
		{Name: "alias-a.example", Target: "a.example", Active: true},
		{Name: "alias-off.example", Target: "off.example", Active: true},
		{Name: "alias-relay.example", Target: "relay.example", Active: true},
		{Name: "alias-gone.example", Target: "gone.example", Active: true},
		{Name: "alias-inactive.example", Target: "a.example", Active: false},
		{Name: "b.example", Target: "a.example", Active: true}, // also a real domain
	}
	got := discover(domains, aliases, nil)
	want := Discovered{
		Domains: []Found{
			{Name: "a.example"},
			{Name: "alias-a.example", AliasOf: "a.example"},
			{Name: "b.example"},
		},
		Skipped: []Skip{
			{Name: "alias-gone.example", Reason: "alias of gone.example, which mailcow does not list as a domain"},
			{Name: "alias-inactive.example", Reason: reasonAliasInactive},
			{Name: "alias-off.example", Reason: "alias of off.example, which is skipped (" + reasonInactive + ")"},
			{Name: "alias-relay.example", Reason: "alias of relay.example, which is skipped (" + reasonBackupMX + ")"},
			{Name: "off.example", Reason: reasonInactive},
			{Name: "relay.example", Reason: reasonBackupMX},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discover (-want +got):\n%s", diff)
	}
	tagged := discover(nil, []AliasDomain{{Name: "x.example", Target: "y.example", Active: true}}, []string{"prod"})
	if len(tagged.Skipped) != 1 || !strings.Contains(tagged.Skipped[0].Reason, "tagged prod") {
		t.Errorf("tag-filtered target: got %+v", tagged)
	}
}

func FuzzDecodeDomains(f *testing.F) {
	for _, seed := range []string{`[]`, `{}`, `null`, `[{"domain_name":"a.example","active":"1","backupmx":0,"tags":["t"]}]`,
		`{"0":{"domain_name":"bücher.example","active":true}}`, `{"domain_name":"x","tags":{"a":"b"}}`, `[{"domain_name":""}]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		domains, err := decodeDomains(data)
		if err != nil {
			return
		}
		for _, d := range domains {
			if d.Name == "" || d.Name != strings.ToLower(d.Name) || strings.HasSuffix(d.Name, ".") {
				t.Fatalf("decoded a non-normalised name %q", d.Name)
			}
		}
	})
}

func FuzzDecodeAliasDomains(f *testing.F) {
	for _, seed := range []string{`[]`, `{}`, `[{"alias_domain":"a.example","target_domain":"b.example","active":"1"}]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		aliases, err := decodeAliasDomains(data)
		if err != nil {
			return
		}
		for _, a := range aliases {
			if a.Name == "" || a.Target == "" {
				t.Fatalf("decoded an empty name: %+v", a)
			}
		}
	})
}
