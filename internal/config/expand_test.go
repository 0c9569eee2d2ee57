package config

import (
	"bytes"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// probeValues are wrong (or doubtful) for some key each, so that every check
// of the loader meets one of them coming from a variable.
var probeValues = []string{
	"S3CRET,probe",                 // a comma: tags, domains, rates, URLs
	"S3CRET-..probe",               // an empty label
	"http://S3CRET.example.com",    // a URL where a name is wanted; http to a remote mailcow
	"Enforce-S3CRET",               // not a mode, layout, type or provider name
	"99999999999999999999",         // too large for any number
	"604801",                       // ttl out of range
	"31557601",                     // max_age out of range
	"299",                          // ttl very short (a warning)
	"S3CRET/s",                     // not a rate
	"mailto:S3CRET@",               // not a report URI
	"*.S3CRET.*",                   // not an mx pattern
	"/nonexistent/S3CRET/ca.pem",   // a file that cannot be read
	"2999-01-01",                   // a date in the future
	"S3CRET ",                      // trailing space
	"_S3CRET.example.com",          // underscore in a domain
	"xn--S3CRET-.example",          // a bad A-label
	"mail.S3CRET.example.com:9999", // a port in a host name
}

// TestExpandedValuesNeverShown: whatever key a ${VAR} is put under and
// whatever wrong value it holds, no error or warning shows the value; the
// messages name the key and the reference as written.
func TestExpandedValuesNeverShown(t *testing.T) {
	base := readTestdata(t, "full.yaml")
	base = append(base, []byte("retire:\n  old.example.com: 2026-01-01\n")...)
	var doc yaml.Node
	if err := yaml.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	var scalars []*yaml.Node
	collectValues(&doc, &scalars)
	if len(scalars) < 39 {
		t.Fatalf("only %d values found in full.yaml", len(scalars))
	}
	reported := 0
	for i, n := range scalars {
		old := n.Value
		n.Value = "${PROBE}"
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(&doc); err != nil {
			t.Fatal(err)
		}
		n.Value = old
		for _, v := range probeValues {
			env := defaultEnv()
			env["PROBE"] = v
			cfg, err := Parse(buf.Bytes(), cfgPath, opts(env, defaultFiles()))
			var out []string
			if err != nil {
				out = append(out, err.Error())
			}
			if cfg != nil {
				out = append(out, cfg.Warnings...)
			}
			text := strings.Join(out, "\n")
			if strings.Contains(text, "S3CRET") || strings.Contains(text, strings.TrimSpace(v)) {
				t.Errorf("value %d (line %d, was %q) = %q shown:\n%s", i, n.Line, old, v, text)
			}
			if strings.Contains(text, `"${PROBE}"`) {
				reported++
			}
		}
	}
	// Most values are wrong for most keys: the loop must have seen them
	// reported, by reference.
	if reported < len(scalars) {
		t.Errorf("only %d of %d probes reported by their reference ${PROBE}", reported, len(scalars)*len(probeValues))
	}
}

// collectValues lists the scalar values of a YAML tree (not the keys).
func collectValues(n *yaml.Node, out *[]*yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			collectValues(c, out)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			collectValues(n.Content[i], out)
		}
	case yaml.ScalarNode:
		*out = append(*out, n)
	}
}

// TestSecretTagFromVariable: a mailcow tag from a variable is checked by the
// loader, before anything is sent, and the message names the key and the
// variable, not the token in it.
func TestSecretTagFromVariable(t *testing.T) {
	data := []byte("policy_host: mail.example.com\nprovider: files\nproviders:\n  files:\n    type: zonefile\n    directory: z\n" +
		"mailcow:\n  url: https://mail.example.com\n  api_key: k\n  tags: [\"${TAGS}\", \" \", ok]\n")
	env := map[string]string{"TAGS": "tok3n-Zq81,x"}
	_, err := Parse(data, cfgPath, opts(env, nil))
	if err == nil {
		t.Fatal("a tag with a comma was accepted")
	}
	for _, want := range []string{
		`cfg.yaml:10: mailcow.tags[0]: the expansion of "${TAGS}" contains a comma, which mailcow's API uses to separate tags`,
		`cfg.yaml:10: mailcow.tags[1]: " " is blank`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "tok3n") {
		t.Errorf("the variable's value is shown:\n%v", err)
	}
}
