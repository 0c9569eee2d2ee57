package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

const (
	cfgDir  = "/etc/mtasts"
	cfgPath = "/etc/mtasts/cfg.yaml"
	// secretToken and friends must never show up in an error or in fmt output.
	secretToken   = "cf-s3cr3t-T0KEN"
	secretTSIG    = "tsig-s3cr3t-KEY"
	secretMailcow = "mailcow-s3cr3t-KEY"
)

// schema is the provider schema the tests pass in, shaped like the real one.
func schema(typ string) ([]Key, bool) {
	switch typ {
	case "cloudflare":
		return []Key{{Name: "api_token", Secret: true, Required: true}}, true
	case "zonefile":
		return []Key{{Name: "directory", Required: true}}, true
	case "rfc2136":
		return []Key{
			{Name: "server", Required: true, Check: func(v string) error {
				if !strings.Contains(v, ":") {
					return errors.New("is not host:port")
				}
				return nil
			}},
			{Name: "key_name", Required: true},
			{Name: "key", Secret: true, Required: true, Check: func(v string) error {
				if strings.ContainsAny(v, ",. ") {
					return errors.New("is not valid base64")
				}
				return nil
			}},
			{Name: "key_alg"},
		}, true
	}
	return nil, false
}

var knownTypes = []string{"cloudflare", "rfc2136", "zonefile"}

// opts builds Options over a fake environment and file system (absolute
// paths), so that tests never depend on the host.
func opts(env map[string]string, files map[string]string) Options {
	return Options{
		ProviderKeys: schema,
		KnownTypes:   knownTypes,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		ReadFile: func(name string, _ int64) ([]byte, error) {
			if v, ok := files[name]; ok {
				return []byte(v), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
	}
}

func defaultEnv() map[string]string {
	return map[string]string{"CF_TOKEN": secretToken, "MAILCOW_API_KEY": secretMailcow, "EMPTY": ""}
}

func defaultFiles() map[string]string {
	return map[string]string{
		cfgDir + "/secrets/tsig.key": "  " + secretTSIG + "\n",
		"/run/secrets/mailcow":       secretMailcow + "\n",
		cfgDir + "/ca.pem":           "-----BEGIN CERTIFICATE-----\n",
		cfgDir + "/cf.token":         secretToken,
		cfgDir + "/empty.token":      " \n",
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseFull(t *testing.T) {
	cfg, err := Parse(readTestdata(t, "full.yaml"), cfgPath, opts(defaultEnv(), defaultFiles()))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &Config{
		Path: cfgPath,
		Dir:  cfgDir,
		Policy: Policy{
			Mode:   mtasts.ModeEnforce,
			MaxAge: 604800,
			MX:     []string{"mail.example.com", "*.backup.example.net"},
			File:   cfgDir + "/www/mta-sts.txt",
		},
		PolicyHost:  "mail.example.com",
		TLSRPT:      &TLSRPT{RUA: []string{"mailto:tls-reports@example.com", "https://reports.example.com/tlsrpt"}},
		Layout:      LayoutDelegated,
		Primary:     "example.com",
		TTL:         time.Hour,
		PublishGate: false,
		Domains:     []string{"eu.example.com", "example.com", "example.org", "xn--bcher-kva.example"},
		Provider:    "cf",
		Providers: map[string]Provider{
			"cf": {Name: "cf", Type: "cloudflare", Settings: map[string]string{},
				Secrets:   map[string]Secret{"api_token": NewSecret("providers.cf.api_token", secretToken)},
				RateLimit: 4, Burst: 4, Concurrency: 8, Line: 21},
			"files": {Name: "files", Type: "zonefile", Settings: map[string]string{"directory": "zones"}, Secrets: map[string]Secret{}, Line: 27},
			"ns-1": {Name: "ns-1", Type: "rfc2136", Line: 30,
				Settings: map[string]string{"server": "127.0.0.1:53", "key_name": "mtasts."},
				Secrets:  map[string]Secret{"key": NewSecret("providers.ns-1.key", secretTSIG)}},
		},
		Zones: map[string]string{"example.com": "files", "eu.example.com": "ns-1"},
		Mailcow: &Mailcow{
			URL:    "https://mail.example.com",
			APIKey: NewSecret("mailcow.api_key", secretMailcow),
			CAFile: cfgDir + "/ca.pem",
			Conf:   "/opt/mailcow-dockerized/mailcow.conf",
			Tags:   []string{"mta-sts", "prod"},
		},
	}
	if diff := cmp.Diff(want, cfg, cmp.Comparer(func(a, b Secret) bool { return a == b })); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	got := cfg.Policy.MTASTS()
	if err := got.Validate(); err != nil {
		t.Errorf("policy does not validate: %v", err)
	}
	if want := []string{"*.backup.example.net", "mail.example.com"}; !cmp.Equal(got.MX, want) {
		t.Errorf("MTASTS().MX = %v, want normalised %v", got.MX, want)
	}
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse(readTestdata(t, "minimal.yaml"), "minimal.yaml", opts(defaultEnv(), nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	wd, _ := os.Getwd()
	checks := []struct {
		name      string
		got, want any
	}{
		{"Dir", cfg.Dir, wd},
		{"Layout", cfg.Layout, LayoutDirect},
		{"TTL", cfg.TTL, time.Hour},
		{"PublishGate", cfg.PublishGate, true},
		{"MX defaults to policy_host", cfg.Policy.MX, []string{"mail.example.com"}},
		{"File", cfg.Policy.File, ""},
		{"TLSRPT", cfg.TLSRPT, (*TLSRPT)(nil)},
		{"Mailcow", cfg.Mailcow, (*Mailcow)(nil)},
		{"Zones", cfg.Zones, map[string]string{}},
		{"Warnings", cfg.Warnings, []string(nil)},
		{"RateLimit", cfg.Providers["cf"].RateLimit, 0.0},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestParseMailcowOnly(t *testing.T) {
	cfg, err := Parse(readTestdata(t, "mailcow.yaml"), cfgPath, opts(defaultEnv(), defaultFiles()))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.PolicyHost != "" || cfg.Policy.MX != nil || cfg.Domains != nil {
		t.Errorf("PolicyHost %q, MX %v, Domains %v: want all empty until mailcow is asked", cfg.PolicyHost, cfg.Policy.MX, cfg.Domains)
	}
	want := &Mailcow{URL: "http://127.0.0.1:8080", APIKey: NewSecret("mailcow.api_key", secretMailcow), IncludeAliasDomains: true}
	if diff := cmp.Diff(want, cfg.Mailcow, cmp.Comparer(func(a, b Secret) bool { return a == b })); diff != "" {
		t.Errorf("mailcow (-want +got):\n%s", diff)
	}
	if got := cfg.Providers["cf"].Secrets["api_token"].Reveal(); got != secretToken {
		t.Errorf("api_token from file = %q", got)
	}
}

// base is a valid config; error cases below replace parts of it. Line
// numbers in the expected messages refer to each case's own text.
const base = `policy:
  mode: testing
  max_age: 86400
policy_host: mail.example.com
domains: [example.com]
provider: cf
providers:
  cf:
    type: cloudflare
    api_token: tok
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the joined error
	}{
		{"empty file", "", []string{"no config in /etc/mtasts/cfg.yaml: "}},
		{"only comments", "# nothing here\n", []string{"no config in /etc/mtasts/cfg.yaml: "}},
		{"null document", "---\n~\n", []string{"no config in /etc/mtasts/cfg.yaml: "}},
		{"yaml syntax", "policy: [\n", []string{"cfg.yaml: yaml: line"}},
		{"two documents", base + "---\n" + base, []string{"cfg.yaml: more than one YAML document"}},
		{"top level list", "- a\n- b\n", []string{"cfg.yaml:1: must be a mapping of keys, got a list"}},
		{"unknown top key", base + "domain: example.org\n", []string{
			`cfg.yaml:11: unknown key "domain" (valid: policy, policy_host, tlsrpt, layout, primary, ttl, publish_gate, domains, retire, ignore, provider, providers, zones, mailcow, dane)`}},
		{"unknown policy key", strings.Replace(base, "  max_age: 86400", "  maxage: 86400", 1), []string{
			`cfg.yaml:3: policy: unknown key "maxage" (valid: mode, max_age, mx, file, dir)`,
			"cfg.yaml:1: policy: max_age is required"}},
		{"max_age wrong type", strings.Replace(base, "max_age: 86400", "max_age: soon", 1), []string{
			`cfg.yaml:3: policy.max_age: must be a whole number of seconds, got "soon"`}},
		{"max_age float", strings.Replace(base, "max_age: 86400", "max_age: 1.5", 1), []string{
			`cfg.yaml:3: policy.max_age: must be a whole number of seconds, got "1.5"`}},
		{"max_age zero", strings.Replace(base, "max_age: 86400", "max_age: 0", 1), []string{
			"cfg.yaml:3: policy.max_age: 0 is out of range; use 1 to 31557600 seconds"}},
		{"max_age above a year", strings.Replace(base, "max_age: 86400", "max_age: 31557601", 1), []string{
			"cfg.yaml:3: policy.max_age: 31557601 is out of range"}},
		{"max_age huge", strings.Replace(base, "max_age: 86400", "max_age: 99999999999999999999", 1), []string{
			`cfg.yaml:3: policy.max_age: 99999999999999999999 is too large`}},
		{"mode wrong", strings.Replace(base, "mode: testing", "mode: Enforce", 1), []string{
			`cfg.yaml:2: policy.mode: "Enforce" is not a mode; use enforce, testing or none`}},
		{"mode missing", strings.Replace(base, "  mode: testing\n", "", 1), []string{
			"cfg.yaml:1: policy: mode is required"}},
		{"policy missing", strings.Replace(base, "policy:\n  mode: testing\n  max_age: 86400\n", "", 1), []string{
			"cfg.yaml:1: policy is required"}},
		{"policy not a mapping", strings.Replace(base, "policy:\n  mode: testing\n  max_age: 86400\n", "policy: 5\n", 1), []string{
			`cfg.yaml:1: policy: must be a mapping of keys, got "5"`}},
		{"duplicate key", base + "policy_host: mx.example.com\n", []string{
			`cfg.yaml:11: duplicate key "policy_host" (first at line 4)`}},
		{"duplicate nested key", strings.Replace(base, "  mode: testing\n", "  mode: testing\n  mode: enforce\n", 1), []string{
			`cfg.yaml:3: policy: duplicate key "mode" (first at line 2)`}},
		{"merge key", strings.Replace(base, "  mode: testing\n", "  <<: {mode: testing}\n", 1), []string{
			"cfg.yaml:2: policy: merge keys (<<) are not supported"}},
		{"mx invalid", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  mx: [mail.example.com, \"*.*.example.com\"]\n", 1), []string{
			`cfg.yaml:4: policy.mx[1]: mx pattern "*.*.example.com"`}},
		{"mx trailing dot", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  mx:\n    - Mail.Example.com.\n", 1), []string{
			`cfg.yaml:5: policy.mx[0]: mx pattern "mail.example.com." ends with a dot`}},
		{"mx empty", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  mx: []\n", 1), []string{
			"cfg.yaml:4: policy.mx: is empty; list the MX host names"}},
		{"mx not a list", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  mx: mail.example.com\n", 1), []string{
			`cfg.yaml:4: policy.mx: must be a list like [mail.example.com, "*.example.net"], got "mail.example.com"`}},
		{"rua http", base + "tlsrpt:\n  rua: [http://reports.example.com/]\n", []string{
			`cfg.yaml:12: tlsrpt.rua[0]: report URI "http://reports.example.com/" uses scheme "http"`}},
		{"rua empty", base + "tlsrpt:\n  rua: []\n", []string{"cfg.yaml:12: tlsrpt.rua: needs at least one report URI"}},
		{"rua missing", base + "tlsrpt: {}\n", []string{"cfg.yaml:11: tlsrpt: rua is required"}},
		{"tlsrpt null", base + "tlsrpt:\n", []string{"cfg.yaml:11: tlsrpt: must be a mapping of keys, got nothing"}},
		{"ttl zero", base + "ttl: 0\n", []string{"cfg.yaml:11: ttl: 0 is out of range; use 1 to 604800 seconds"}},
		{"ttl too long", base + "ttl: 604801\n", []string{"cfg.yaml:11: ttl: 604801 is out of range"}},
		{"ttl duration", base + "ttl: 1h\n", []string{`cfg.yaml:11: ttl: must be a whole number of seconds, got "1h"`}},
		{"publish_gate", base + "publish_gate: maybe\n", []string{`cfg.yaml:11: publish_gate: must be true or false, got "maybe"`}},
		{"layout wrong", base + "layout: central\n", []string{`cfg.yaml:11: layout: "central" is not a layout; use direct or delegated`}},
		{"delegated without primary", base + "layout: delegated\n", []string{
			"cfg.yaml:11: layout: delegated needs primary: <domain>"}},
		{"primary with direct", base + "primary: example.com\n", []string{
			"cfg.yaml:11: primary: is only used with layout: delegated (the default layout is direct)"}},
		{"primary not in domains", base + "layout: delegated\nprimary: example.org\n", []string{
			"cfg.yaml:12: primary: example.org is not one of domains"}},
		{"primary invalid", base + "layout: delegated\nprimary: a..b\n", []string{
			`cfg.yaml:12: primary: domain name "a..b": empty label`}},
		{"domain invalid", strings.Replace(base, "domains: [example.com]", "domains: [example.com, a..b, _x.example.com]", 1), []string{
			`cfg.yaml:5: domains[1]: domain name "a..b": empty label`,
			`cfg.yaml:5: domains[2]: domain name "_x.example.com": underscore not allowed in a mail domain`}},
		{"no domains", strings.Replace(base, "domains: [example.com]\n", "", 1), []string{
			"cfg.yaml:1: no domains; list them under domains: or configure mailcow:"}},
		{"empty domains", strings.Replace(base, "domains: [example.com]", "domains: []", 1), []string{
			"cfg.yaml:5: no domains"}},
		{"domain without zone", strings.Replace(strings.Replace(base, "provider: cf\n", "zones:\n  example.com: cf\n", 1),
			"domains: [example.com]", "domains:\n  - example.com\n  - example.org", 1), []string{
			"cfg.yaml:7: domains: example.org is in no configured zone; add a zones: entry for its zone or set provider:"}},
		{"default provider unknown", strings.Replace(base, "provider: cf", "provider: cf2", 1), []string{
			`cfg.yaml:6: provider: no provider named "cf2" under providers: (defined: cf)`}},
		{"zone provider unknown", base + "zones:\n  example.com: nope\n", []string{
			`cfg.yaml:12: zones.example.com: no provider named "nope" under providers: (defined: cf)`}},
		{"zone invalid", base + "zones:\n  example..com: cf\n", []string{
			`cfg.yaml:12: zones: domain name "example..com": empty label`}},
		{"zone twice", base + "zones:\n  example.com: cf\n  Example.COM.: cf\n", []string{
			"cfg.yaml:13: zones: zone example.com is listed twice (first at line 12)"}},
		{"provider name", base + "  CF:\n    type: cloudflare\n    api_token: x\n", []string{
			`cfg.yaml:11: providers: provider name "CF" is not valid`}},
		{"provider type unknown", strings.Replace(base, "type: cloudflare", "type: cloudfare", 1), []string{
			`cfg.yaml:9: providers.cf.type: unknown provider type "cloudfare" (known: cloudflare, rfc2136, zonefile)`}},
		{"provider type missing", strings.Replace(base, "    type: cloudflare\n", "", 1), []string{
			"cfg.yaml:8: providers.cf: type is required; add type: <cloudflare | rfc2136 | zonefile>"}},
		{"provider not a mapping", strings.Replace(base, "  cf:\n    type: cloudflare\n    api_token: tok\n", "  cf: cloudflare\n", 1), []string{
			`cfg.yaml:8: providers.cf: must be a mapping of keys, got "cloudflare"`}},
		{"provider key missing", strings.Replace(base, "    api_token: tok\n", "", 1), []string{
			"cfg.yaml:8: providers.cf: missing required key api_token (or api_token_file: <path>)"}},
		{"provider key unknown", base + "    token: x\n", []string{
			`cfg.yaml:11: providers.cf: unknown key "token" for type cloudflare (valid: type, rate_limit, change_rate_limit, burst, concurrency, api_token, api_token_file)`}},
		{"provider _file for non-secret", base + "  z:\n    type: zonefile\n    directory_file: d\n", []string{
			`cfg.yaml:13: providers.z: unknown key "directory_file"`,
			"cfg.yaml:11: providers.z: missing required key directory; add it"}},
		{"rate_limit unit", base + "    rate_limit: 4/d\n", []string{
			`cfg.yaml:11: providers.cf.rate_limit: "4/d" is not a rate; write N/s, N/m, N/5m or N/h`}},
		{"rate_limit word", base + "    rate_limit: fast\n", []string{`providers.cf.rate_limit: "fast" is not a rate`}},
		{"rate_limit bare number", base + "    rate_limit: 4\n", []string{`cfg.yaml:11: providers.cf.rate_limit: 4 is not a rate`}},
		{"rate_limit zero", base + "    rate_limit: 0/s\n", []string{`cfg.yaml:11: providers.cf.rate_limit: "0/s" has no requests: the number must be above 0`}},
		{"burst zero", base + "    burst: 0\n", []string{"cfg.yaml:11: providers.cf.burst: 0 is out of range"}},
		{"concurrency type", base + "    concurrency: many\n", []string{`cfg.yaml:11: providers.cf.concurrency: must be a whole number of at least 1, got "many"`}},
		{"policy_host missing", strings.Replace(base, "policy_host: mail.example.com\n", "", 1), []string{
			"cfg.yaml:1: policy_host is required unless mailcow: is set"}},
		{"policy_host invalid", strings.Replace(base, "policy_host: mail.example.com", "policy_host: https://mail.example.com", 1), []string{
			`cfg.yaml:4: policy_host: domain name "https://mail.example.com": give the domain name, not a URL`}},
		{"policy_host list", strings.Replace(base, "policy_host: mail.example.com", "policy_host: [a.example]", 1), []string{
			"cfg.yaml:4: policy_host: must be a domain name, got a list"}},
		{"mailcow http remote", base + "mailcow:\n  url: http://mail.example.com\n  api_key: k\n", []string{
			`cfg.yaml:12: mailcow.url: "http://mail.example.com" uses http, which would send the API key in clear`}},
		{"mailcow ftp", base + "mailcow:\n  url: ftp://mail.example.com\n  api_key: k\n", []string{
			`cfg.yaml:12: mailcow.url: "ftp://mail.example.com" must start with https://`}},
		{"mailcow no host", base + "mailcow:\n  url: https://\n  api_key: k\n", []string{`cfg.yaml:12: mailcow.url: "https://" has no host`}},
		{"mailcow url missing", base + "mailcow:\n  api_key: k\n", []string{"cfg.yaml:11: mailcow: url is required"}},
		{"mailcow api_key missing", base + "mailcow:\n  url: https://mail.example.com\n", []string{
			"cfg.yaml:11: mailcow: missing required key api_key (or api_key_file: <path>)"}},
		{"mailcow api_key both forms", base + "mailcow:\n  url: https://mail.example.com\n  api_key: k\n  api_key_file: /run/secrets/mailcow\n", []string{
			"cfg.yaml:14: mailcow: give api_key or api_key_file, not both"}},
		{"mailcow api_key empty", base + "mailcow:\n  url: https://mail.example.com\n  api_key: ${EMPTY}\n", []string{
			"cfg.yaml:13: mailcow.api_key is empty (EMPTY is set but empty)"}},
		{"mailcow tags not a list", base + "mailcow:\n  url: https://mail.example.com\n  api_key: k\n  tags: mta-sts\n", []string{
			`cfg.yaml:14: mailcow.tags: must be a list like [mta-sts], got "mta-sts"`}},
		{"mailcow unknown key", base + "mailcow:\n  url: https://mail.example.com\n  api_key: k\n  apikey: k\n", []string{
			`cfg.yaml:14: mailcow: unknown key "apikey" (valid: url, api_key, api_key_file, ca_file, tags, include_alias_domains, manage_policy, conf)`}},
		{"mailcow ca_file missing", base + "mailcow:\n  url: https://mail.example.com\n  api_key: k\n  ca_file: nope.pem\n", []string{
			"cfg.yaml:14: mailcow.ca_file: cannot read /etc/mtasts/nope.pem: file does not exist"}},
		{"mailcow manage_policy with file", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  file: mta-sts.txt\n", 1) +
			"mailcow:\n  url: https://mail.example.com\n  api_key: k\n  manage_policy: true\n", []string{
			"cfg.yaml:1: mailcow.manage_policy: true and policy.file exclude each other"}},
		{"mailcow without provider", strings.Replace(base, "provider: cf\n", "", 1) + "mailcow:\n  url: https://mail.example.com\n  api_key: k\n", []string{
			"cfg.yaml:10: mailcow: discovered domains need a DNS provider"}},
		{"env unset", strings.Replace(base, "api_token: tok", "api_token: ${NOPE}", 1), []string{
			"cfg.yaml:10: providers.cf.api_token: environment variable NOPE is not set"}},
		{"env empty", strings.Replace(base, "api_token: tok", "api_token: ${EMPTY}", 1), []string{
			"cfg.yaml:10: providers.cf.api_token is empty (EMPTY is set but empty)"}},
		{"env unterminated", strings.Replace(base, "api_token: tok", "api_token: ${CF_TOKEN", 1), []string{
			`cfg.yaml:10: providers.cf.api_token: "${" without a closing "}"`}},
		{"env bad name", strings.Replace(base, "api_token: tok", "api_token: ${CF-TOKEN}", 1), []string{
			`cfg.yaml:10: providers.cf.api_token: "${...}" does not hold a variable name`}},
		{"env in list", strings.Replace(base, "domains: [example.com]", `domains: [example.com, "${DOMAIN2}"]`, 1), []string{
			"cfg.yaml:5: domains[1]: environment variable DOMAIN2 is not set"}},
		{"env value not echoed", base + "layout: ${CF_TOKEN}\n", []string{`cfg.yaml:11: layout: the expansion of "${CF_TOKEN}" is not a layout`}},
		{"env value not echoed in list", strings.Replace(base, "domains: [example.com]", "domains:\n  - x_${CF_TOKEN}", 1), []string{
			`cfg.yaml:6: domains[0]: the expansion of "x_${CF_TOKEN}" is not a valid domain name`}},
		{"env value not echoed at top", "${CF_TOKEN}\n", []string{`cfg.yaml:1: must be a mapping of keys, got the expansion of "${CF_TOKEN}"`}},
		{"secret empty string", strings.Replace(base, "api_token: tok", `api_token: ""`, 1), []string{
			"cfg.yaml:10: providers.cf.api_token is empty; give it a value"}},
		{"secret both forms", base + "    api_token_file: cf.token\n", []string{
			"cfg.yaml:11: providers.cf: give api_token or api_token_file, not both"}},
		{"secret file missing", strings.Replace(base, "api_token: tok", "api_token_file: secrets/nope", 1), []string{
			"cfg.yaml:10: providers.cf.api_token_file: cannot read /etc/mtasts/secrets/nope: file does not exist"}},
		{"secret file empty", strings.Replace(base, "api_token: tok", "api_token_file: empty.token", 1), []string{
			"cfg.yaml:10: providers.cf.api_token is empty (file /etc/mtasts/empty.token is empty)"}},
		{"secret file path empty", strings.Replace(base, "api_token: tok", "api_token_file:", 1), []string{
			"cfg.yaml:10: providers.cf.api_token_file: is empty; give the path"}},
		{"policy file empty", strings.Replace(base, "  max_age: 86400\n", "  max_age: 86400\n  file: \"\"\n", 1), []string{
			"cfg.yaml:4: policy.file: is empty"}},
		{"non-text key", base + "[a]: 1\n", []string{"cfg.yaml:11: keys must be plain names, got a list"}},
		{"all problems at once", "policy:\n  mode: sometimes\n  max_age: -1\ndomains: [a..b]\nttl: 0\n", []string{
			`cfg.yaml:2: policy.mode: "sometimes" is not a mode`,
			"cfg.yaml:3: policy.max_age: -1 is out of range",
			`cfg.yaml:4: domains[0]: domain name "a..b": empty label`,
			"cfg.yaml:5: ttl: 0 is out of range",
			"cfg.yaml:1: policy_host is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), cfgPath, opts(defaultEnv(), defaultFiles()))
			if err == nil {
				t.Fatalf("Parse succeeded, want errors %q; config: %+v", tt.want, cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q; got:\n%v", w, err)
				}
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func assertNoSecret(t *testing.T, text string) {
	t.Helper()
	for _, s := range []string{secretToken, secretTSIG, secretMailcow} {
		if strings.Contains(text, s) {
			t.Errorf("secret %q leaked into: %s", s, text)
		}
	}
}

func TestParseErrorsAreSeparate(t *testing.T) {
	_, err := Parse([]byte("policy:\n  mode: x\n  max_age: 0\n"), "cfg.yaml", opts(nil, nil))
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error %v is not a joined error", err)
	}
	if n := len(joined.Unwrap()); n < 4 {
		t.Errorf("got %d problems, want every one of mode, max_age, policy_host, domains:\n%v", n, err)
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"short max_age", strings.Replace(base, "max_age: 86400", "max_age: 3600", 1), []string{
			"cfg.yaml:3: policy.max_age: 3600 seconds is less than a day"}},
		{"enforce below a week", strings.Replace(strings.Replace(base, "max_age: 86400", "max_age: 3600", 1), "mode: testing", "mode: enforce", 1), []string{
			"cfg.yaml:3: policy.max_age: 3600 seconds is less than a day",
			"cfg.yaml:3: policy.max_age: mode enforce with max_age 3600, less than a week (604800)"}},
		{"low ttl", base + "ttl: 60\n", []string{"cfg.yaml:11: ttl: 60 seconds is very short"}},
		{"duplicate domain", strings.Replace(base, "domains: [example.com]", "domains: [example.com, Example.COM.]", 1), []string{
			"cfg.yaml:5: domains[1]: example.com is listed twice (first at line 5)"}},
		{"none", base, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), "cfg.yaml", opts(nil, nil))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !hasPrefixes(cfg.Warnings, tt.want) {
				t.Errorf("warnings = %q, want ones starting with %q", cfg.Warnings, tt.want)
			}
		})
	}
}

// hasPrefixes reports whether got and want have the same length and each
// got[i] starts with want[i].
func hasPrefixes(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			return false
		}
	}
	return true
}

func TestEnvExpansion(t *testing.T) {
	env := map[string]string{"CF_TOKEN": secretToken, "MAX_AGE": "604800", "GATE": "false", "HOST": "Mail.Example.com", "TTL": "600"}
	yaml := strings.NewReplacer(
		"max_age: 86400", "max_age: ${MAX_AGE}",
		"policy_host: mail.example.com", "policy_host: ${HOST}",
		"api_token: tok", "api_token: ${CF_TOKEN}",
	).Replace(base) + "publish_gate: \"${GATE}\"\nttl: ${TTL}\n" +
		"  # a literal ${ in a value, and a lone $\n" +
		"mailcow:\n  url: https://mail.example.com\n  api_key: pa$$word$${NOT_A_VAR}\n  tags: [\"${HOST}\"]\n"
	cfg, err := Parse([]byte(yaml), "cfg.yaml", opts(env, nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"max_age from env", cfg.Policy.MaxAge, int64(604800)},
		{"publish_gate from env", cfg.PublishGate, false},
		{"ttl from env", cfg.TTL, 600 * time.Second},
		{"policy_host from env, normalised", cfg.PolicyHost, "mail.example.com"},
		{"secret from env", cfg.Providers["cf"].Secrets["api_token"].Reveal(), secretToken},
		{"escaped ${ and lone $", cfg.Mailcow.APIKey.Reveal(), "pa$$word${NOT_A_VAR}"},
		{"list entry from env", cfg.Mailcow.Tags, []string{"Mail.Example.com"}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestEnvNotExpandedInKeys(t *testing.T) {
	_, err := Parse([]byte(base+"${KEY}: 1\n"), "cfg.yaml", opts(map[string]string{"KEY": "ttl"}, nil))
	if err == nil || !strings.Contains(err.Error(), `cfg.yaml:11: unknown key "${KEY}"`) {
		t.Fatalf("want the key taken literally, got %v", err)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "B_2": "y", "E": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want string
		vars     []string
		wantErr  string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "x", vars: []string{"A"}},
		{in: "a${A}b${B_2}c", want: "axbyc", vars: []string{"A", "B_2"}},
		{in: "${E}", want: "", vars: []string{"E"}},
		{in: "$${A}", want: "${A}"},
		{in: "$$${A}", want: "$${A}"},
		{in: "$A $ $$ {A}", want: "$A $ $$ {A}"},
		{in: "${", wantErr: "without a closing"},
		{in: "${}", wantErr: "does not hold a variable name"},
		{in: "${1A}", wantErr: "does not hold a variable name"},
		{in: "${A B}", wantErr: "does not hold a variable name"},
		{in: "${MISSING}", wantErr: "environment variable MISSING is not set"},
	}
	for _, tt := range tests {
		got, vars, err := expand(tt.in, lookup)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || !cmp.Equal(vars, tt.vars) {
			t.Errorf("expand(%q) = %q, %v, %v; want %q, %v", tt.in, got, vars, err, tt.want, tt.vars)
		}
	}
}

func TestSecretsFromFilesOnDisk(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("secrets/cf", "\n"+secretToken+"\r\n")
	write("secrets/tsig", secretTSIG)
	write("mailcow.key", secretMailcow+"\n")
	write("ca.pem", "pem")
	write("mtasts-sync.yaml", `policy:
  mode: testing
  max_age: 86400
  file: www/mta-sts.txt
policy_host: mail.example.com
domains: [example.com]
provider: cf
providers:
  cf:
    type: cloudflare
    api_token_file: secrets/cf
  ns:
    type: rfc2136
    server: 127.0.0.1:53
    key_name: k.
    key_file: `+filepath.Join(dir, "secrets/tsig")+`
mailcow:
  url: https://localhost
  api_key_file: mailcow.key
  ca_file: ca.pem
  conf: mailcow.conf
`)
	cfg, err := Load(filepath.Join(dir, "mtasts-sync.yaml"), Options{ProviderKeys: schema, KnownTypes: knownTypes})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"cf token trimmed", cfg.Providers["cf"].Secrets["api_token"].Reveal(), secretToken},
		{"absolute key_file", cfg.Providers["ns"].Secrets["key"].Reveal(), secretTSIG},
		{"mailcow key", cfg.Mailcow.APIKey.Reveal(), secretMailcow},
		{"ca_file", cfg.Mailcow.CAFile, filepath.Join(dir, "ca.pem")},
		{"conf", cfg.Mailcow.Conf, filepath.Join(dir, "mailcow.conf")},
		{"policy file", cfg.Policy.File, filepath.Join(dir, "www/mta-sts.txt")},
		{"dir", cfg.Dir, dir},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml"), Options{}); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load of a missing file: %v, want an error naming it", err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	cfg, err := Parse(readTestdata(t, "full.yaml"), cfgPath, opts(defaultEnv(), defaultFiles()))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	outputs := []string{
		fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v", *cfg, *cfg, *cfg),
		fmt.Sprintf("%v %+v %#v %v %+v", cfg.Providers, cfg.Providers, cfg.Providers, cfg.Providers["cf"], cfg.Providers["ns-1"]),
		fmt.Sprintf("%v %+v %#v %v", cfg.Mailcow, *cfg.Mailcow, cfg.Mailcow, cfg.Mailcow),
		fmt.Sprint(cfg.Providers["cf"], cfg.Mailcow),
		fmt.Sprintf("%s %q %x %X %#v", cfg.Mailcow.APIKey, cfg.Mailcow.APIKey, cfg.Mailcow.APIKey, cfg.Providers["cf"].Secrets["api_token"], cfg.Providers["ns-1"].Secrets),
		fmt.Sprint(cfg.Providers["ns-1"].Secrets["key"]) + cfg.Mailcow.APIKey.String(),
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "key", cfg.Mailcow.APIKey, "mailcow", cfg.Mailcow, "providers", cfg.Providers)
	outputs = append(outputs, string(js), logged.String())
	for _, out := range outputs {
		assertNoSecret(t, out)
		if !strings.Contains(out, redacted+" (") {
			t.Errorf("output shows no %s marker: %s", redacted, out)
		}
	}
	// Non-secret settings stay visible: they help debugging.
	if out := fmt.Sprintf("%+v", cfg.Providers["ns-1"]); !strings.Contains(out, "127.0.0.1:53") {
		t.Errorf("non-secret setting hidden: %s", out)
	}
	var nilMailcow *Mailcow
	if out := fmt.Sprintf("%v", nilMailcow); out != "<nil>" {
		t.Errorf("nil *Mailcow prints %q", out)
	}
}

func TestZoneFor(t *testing.T) {
	cfg := &Config{Zones: map[string]string{
		"example.com":    "main",
		"eu.example.com": "eu",
		"example.org":    "org",
	}}
	tests := []struct {
		domain, zone, provider string
		ok                     bool
	}{
		{"example.com", "example.com", "main", true},
		{"us.example.com", "example.com", "main", true},
		{"eu.example.com", "eu.example.com", "eu", true},
		{"EU.Example.com.", "eu.example.com", "eu", true},
		{"mail.eu.example.com", "eu.example.com", "eu", true},
		{"neu.example.com", "example.com", "main", true},
		{"example.org", "example.org", "org", true},
		{"example.net", "", "", false},
		{"badexample.com", "", "", false},
		{"com", "", "", false},
	}
	for _, tt := range tests {
		zone, provider, ok := cfg.ZoneFor(tt.domain)
		if zone != tt.zone || provider != tt.provider || ok != tt.ok {
			t.Errorf("ZoneFor(%q) = %q, %q, %v; want %q, %q, %v", tt.domain, zone, provider, ok, tt.zone, tt.provider, tt.ok)
		}
	}
}

func TestParseSubdomainZones(t *testing.T) {
	yaml := `policy: {mode: testing, max_age: 86400}
policy_host: mail.example.com
domains: [example.com, eu.example.com, mail.eu.example.com, Bücher.example]
providers:
  main: {type: zonefile, directory: /z}
  eu: {type: zonefile, directory: /z}
zones:
  example.com: main
  EU.Example.COM.: eu
  bücher.example: main
`
	cfg, err := Parse([]byte(yaml), "cfg.yaml", opts(nil, nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := map[string]string{"example.com": "main", "eu.example.com": "eu", "mail.eu.example.com": "eu", "xn--bcher-kva.example": "main"}
	for _, d := range cfg.Domains {
		_, prov, ok := cfg.ZoneFor(d)
		if !ok || prov != want[d] {
			t.Errorf("domain %s -> provider %q (ok=%v), want %q", d, prov, ok, want[d])
		}
	}
	if len(cfg.Domains) != len(want) {
		t.Errorf("domains %v, want the keys of %v", cfg.Domains, want)
	}
	if _, ok := cfg.Zones["xn--bcher-kva.example"]; !ok {
		t.Errorf("IDN zone not normalised: %v", cfg.Zones)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		bad  bool
	}{
		{in: "4/s", want: 4},
		{in: "60/m", want: 1},
		{in: "30/5m", want: 0.1},
		{in: "3600/h", want: 1},
		{in: "0.5/s", want: 0.5},
		{in: "10/10s", want: 1},
		{in: "4", bad: true},
		{in: "4/", bad: true},
		{in: "/s", bad: true},
		{in: "4/d", bad: true},
		{in: "4/0m", bad: true},
		{in: "-1/s", bad: true},
		{in: "1e3/s", bad: true},
		{in: "NaN/s", bad: true},
		{in: "0/s", bad: true},
		{in: ".5/s", bad: true},
	}
	for _, tt := range tests {
		got, err := parseRate(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseRate(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestMailcowURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://mail.example.com", true},
		{"https://mail.example.com/mailcow/", true},
		{"HTTPS://mail.example.com", true},
		{"http://localhost:8080", true},
		{"http://127.0.0.1", true},
		{"http://[::1]:8080", true},
		{"http://mail.example.com", false},
		{"http://10.0.0.1", false},
		{"https://user:pw@mail.example.com", false},
		{"mail.example.com", false},
		{"https://", false},
		{"::", false},
	}
	for _, tt := range tests {
		err := checkMailcowURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("checkMailcowURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error leaks the URL password: %v", err)
		}
	}
}

func TestProviderWithUnknownTypeWithoutSchema(t *testing.T) {
	// Without a schema every type is unknown: the config cannot be trusted.
	_, err := Parse([]byte(base), "cfg.yaml", Options{})
	if err == nil || !strings.Contains(err.Error(), `cfg.yaml:9: providers.cf.type: unknown provider type "cloudflare"`) {
		t.Fatalf("got %v", err)
	}
}

func TestParseAliases(t *testing.T) {
	yaml := strings.Replace(base, "providers:\n", "providers:\n  files: &zf\n    type: zonefile\n    directory: /z\n  backup: *zf\n", 1) +
		"zones:\n  example.com: backup\n"
	cfg, err := Parse([]byte(yaml), "cfg.yaml", opts(nil, nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := cfg.Providers["backup"]
	if got.Name != "backup" || got.Type != "zonefile" || got.Settings["directory"] != "/z" || got.Line != 11 {
		t.Errorf("aliased provider = %+v", got)
	}
}

// TestSecretPiecesNeverInErrors: a secret put under the wrong key must not
// show through an error that quotes only part of it (a label, a port).
func TestSecretPiecesNeverInErrors(t *testing.T) {
	env := map[string]string{"TOK": "sec.ret-", "PORT": "notaport99"}
	for _, body := range []string{
		"policy:\n  mode: testing\n  max_age: 604800\n  mx: [\"x.${TOK}.example.com\"]\npolicy_host: mail.example.com\ndomains: [example.com]\nprovider: files\nproviders:\n  files:\n    type: zonefile\n    directory: ./z\n",
		"mailcow:\n  url: https://mail.example.com:${PORT}\n  api_key: k\nprovider: files\nproviders:\n  files:\n    type: zonefile\n    directory: ./z\n",
	} {
		_, err := Parse([]byte(body), cfgPath, opts(env, nil))
		if err == nil {
			t.Fatalf("no error for:\n%s", body)
		}
		for _, piece := range []string{"ret-", "sec.ret", "notaport"} {
			if strings.Contains(err.Error(), piece) {
				t.Errorf("error shows %q of a variable's value: %v", piece, err)
			}
		}
		if !strings.Contains(err.Error(), "${") {
			t.Errorf("error does not name the variable: %v", err)
		}
	}
}

// TestChangeRateLimit: change_rate_limit is a rate like rate_limit, kept
// apart from it, and checked the same way.
func TestChangeRateLimit(t *testing.T) {
	cfg, err := Parse([]byte(base+"    rate_limit: 8/s\n    change_rate_limit: 120/m\n"), "cfg.yaml", opts(defaultEnv(), nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p := cfg.Providers["cf"]; p.RateLimit != 8 || p.ChangeRate != 2 {
		t.Errorf("rate_limit, change_rate_limit = %v, %v; want 8, 2", p.RateLimit, p.ChangeRate)
	}
	_, err = Parse([]byte(base+"    change_rate_limit: often\n"), "cfg.yaml", opts(defaultEnv(), nil))
	if err == nil || !strings.Contains(err.Error(), `cfg.yaml:11: providers.cf.change_rate_limit: "often" is not a rate`) {
		t.Errorf("bad change_rate_limit: %v", err)
	}
}
