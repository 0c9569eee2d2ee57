package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// problem is one thing wrong (or doubtful) in the config file, located by
// line and key path so that the user can jump to it.
type problem struct {
	file string
	line int
	key  string
	msg  string
}

func (p problem) Error() string {
	var b strings.Builder
	b.WriteString(p.file)
	if p.line > 0 {
		b.WriteString(":" + strconv.Itoa(p.line))
	}
	b.WriteString(": ")
	if p.key != "" {
		b.WriteString(p.key + ": ")
	}
	b.WriteString(p.msg)
	return b.String()
}

// parser carries what one Parse call collects: every problem is recorded and
// parsing goes on, so that the user sees all of them at once.
type parser struct {
	file     string
	dir      string
	opts     Options
	problems []problem
	warnings []problem
	// expanded records the scalars ${VAR} references were expanded into:
	// their text as written in the file and the variables. Any variable may
	// hold a secret, so messages show such a value only as written (see
	// show and cause), never as expanded.
	expanded map[*yaml.Node]expansion
}

// expansion is where the value of an expanded scalar came from.
type expansion struct {
	raw  string   // as written in the file, e.g. "${TAGS}"
	vars []string // the variables expanded into it
}

// errorf records a problem at n. Neither format nor args may carry the text
// of a scalar: a value goes in through show, a validator's error about it
// through cause, which both know where the value came from.
func (p *parser) errorf(n *yaml.Node, key, format string, args ...any) {
	p.problems = append(p.problems, problem{file: p.file, line: line(n), key: key, msg: fmt.Sprintf(format, args...)})
}

// warnf records a doubtful setting, under the rules of errorf.
func (p *parser) warnf(n *yaml.Node, key, format string, args ...any) {
	p.warnings = append(p.warnings, problem{file: p.file, line: line(n), key: key, msg: fmt.Sprintf(format, args...)})
}

// shown is the value of a scalar as a message may show it.
type shown struct {
	text     string
	quote    bool
	expanded bool
}

func (s shown) String() string {
	t := s.text
	if s.quote || s.expanded {
		t = strconv.Quote(t)
	}
	if s.expanded {
		return "the expansion of " + t
	}
	return t
}

// show returns the value of n for a message: as written when it came from
// the file (quoted unless it is a plain number or boolean); when ${VAR}s
// were expanded into it, only the text as written with the references
// unexpanded, e.g. the expansion of "${MAILCOW_TAGS}".
func (p *parser) show(n *yaml.Node) shown {
	if n == nil {
		return shown{text: "nothing"}
	}
	if e, ok := p.expanded[n]; ok {
		return shown{text: e.raw, expanded: true}
	}
	switch n.ShortTag() {
	case "!!int", "!!bool", "!!float":
		return shown{text: n.Value}
	}
	return shown{text: n.Value, quote: true}
}

// showAs is like show, but a value written in the file is shown as
// display, e.g. a domain name in its normal form.
func (p *parser) showAs(n *yaml.Node, display string) shown {
	if _, ok := p.expanded[n]; ok {
		return p.show(n)
	}
	return shown{text: display}
}

// cause is err, a validator's complaint about the value of n that may
// quote the value, in the form a message may show: as it is for a value
// written in the file; for an expanded value only what was wanted, since
// the complaint would show the variable's content.
func (p *parser) cause(n *yaml.Node, err error, want string) string {
	if _, ok := p.expanded[n]; !ok {
		return err.Error()
	}
	return fmt.Sprintf("%v is not %s (the details would show the variable's value)", p.show(n), want)
}

// vars lists the variables expanded into n; nil for a value written in
// the file.
func (p *parser) vars(n *yaml.Node) []string { return p.expanded[n].vars }

func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// deref follows aliases to the anchored node; the bound only guards against
// a malformed tree.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe says what n is, for a message about a value of the wrong kind.
func (p *parser) describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		if _, ok := p.expanded[n]; ok {
			return p.show(n).String()
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// field is one key: value pair of a mapping, with the key's full path.
type field struct {
	key, val *yaml.Node
	path     string
}

// entries returns the pairs of a mapping node in file order, reporting
// duplicate and non-text keys.
func (p *parser) entries(n *yaml.Node, path string) []field {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping of keys, got %s", p.describe(n))
		return nil
	}
	var out []field
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errorf(k, path, "keys must be plain names, got %s", p.describe(k))
			continue
		case k.ShortTag() == "!!merge":
			p.errorf(k, path, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, path, "duplicate key %q (first at line %d); keep only one", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, field{key: k, val: deref(v), path: join(path, k.Value)})
	}
	return out
}

// known indexes fields by key and reports every key not in valid.
func (p *parser) known(fs []field, path string, valid ...string) map[string]field {
	out := make(map[string]field, len(fs))
	for _, f := range fs {
		if !contains(valid, f.key.Value) {
			p.errorf(f.key, path, "unknown key %q (valid: %s)", f.key.Value, strings.Join(valid, ", "))
			continue
		}
		out[f.key.Value] = f
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// str returns a scalar as text; any scalar is accepted because tokens and
// names may look like numbers. ok is false when the value is absent (null) or
// wrong.
func (p *parser) str(f field) (string, bool) {
	if isNull(f.val) {
		return "", false
	}
	if f.val.Kind != yaml.ScalarNode {
		p.errorf(f.val, f.path, "must be text, got %s", p.describe(f.val))
		return "", false
	}
	return f.val.Value, true
}

// integer accepts a YAML integer, or text that came from ${VAR} and reads as
// a decimal integer (a variable cannot carry a YAML type).
func (p *parser) integer(f field, what string) (int64, bool) {
	if isNull(f.val) {
		return 0, false
	}
	n := f.val
	if n.Kind == yaml.ScalarNode {
		switch tag := n.ShortTag(); {
		case tag == "!!int":
			var v int64
			if err := n.Decode(&v); err == nil {
				return v, true
			}
			p.errorf(n, f.path, "%v is too large; expected %s", p.show(n), what)
			return 0, false
		case tag == "!!str" && p.vars(n) != nil:
			if v, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 64); err == nil {
				return v, true
			}
		}
	}
	if _, err := strconv.ParseInt(n.Value, 10, 64); errors.Is(err, strconv.ErrRange) {
		p.errorf(n, f.path, "%v is too large; expected %s", p.show(n), what)
		return 0, false
	}
	p.errorf(n, f.path, "must be %s, got %s", what, p.describe(n))
	return 0, false
}

func (p *parser) boolean(f field) (bool, bool) {
	if isNull(f.val) {
		return false, false
	}
	n := f.val
	if n.Kind == yaml.ScalarNode {
		switch tag := n.ShortTag(); {
		case tag == "!!bool":
			var v bool
			if err := n.Decode(&v); err == nil {
				return v, true
			}
		case tag == "!!str" && p.vars(n) != nil:
			switch strings.ToLower(strings.TrimSpace(n.Value)) {
			case "true":
				return true, true
			case "false":
				return false, true
			}
		}
	}
	p.errorf(n, f.path, "must be true or false, got %s", p.describe(n))
	return false, false
}

// item is one text entry of a list.
type item struct {
	val  string
	node *yaml.Node
	path string
}

// list returns the entries of a list of text; ok is false when the list is
// absent (null) or not a list.
func (p *parser) list(f field, example string) ([]item, bool) {
	if isNull(f.val) {
		return nil, false
	}
	if f.val.Kind != yaml.SequenceNode {
		p.errorf(f.val, f.path, "must be a list like %s, got %s", example, p.describe(f.val))
		return nil, false
	}
	out := []item{}
	for i, c := range f.val.Content {
		c = deref(c)
		path := index(f.path, i)
		switch {
		case isNull(c):
			p.errorf(c, path, "empty entry; remove it or give a value")
		case c.Kind != yaml.ScalarNode:
			p.errorf(c, path, "must be text, got %s", p.describe(c))
		default:
			out = append(out, item{val: c.Value, node: c, path: path})
		}
	}
	return out, true
}

// expandTree replaces ${VAR} in every scalar value (never in keys). Aliases
// are skipped: their anchor is expanded where it is defined.
func (p *parser) expandTree(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			sub := path
			if n.Kind == yaml.SequenceNode {
				sub = index(path, i)
			}
			p.expandTree(c, sub)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p.expandTree(n.Content[i+1], join(path, n.Content[i].Value))
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		out, vars, err := expand(n.Value, p.opts.LookupEnv)
		if err != nil {
			p.errorf(n, path, "%v", err)
			return
		}
		if len(vars) > 0 {
			p.expanded[n] = expansion{raw: n.Value, vars: vars}
		}
		n.Value = out
	}
}

// expand substitutes ${NAME} from lookup and turns $${ into a literal ${.
// A "$" not followed by "{" stays as it is, so passwords with "$" need no
// escaping. Errors never quote the text, which may be a secret.
func expand(s string, lookup func(string) (string, bool)) (string, []string, error) {
	var b strings.Builder
	var vars []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", nil, errors.New("\"${\" without a closing \"}\"; write ${NAME}, or $${ for a literal ${")
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				return "", nil, errors.New("\"${...}\" does not hold a variable name (letters, digits and _); write ${NAME}, or $${ for a literal ${")
			}
			v, ok := lookup(name)
			if !ok {
				return "", nil, fmt.Errorf("environment variable %s is not set; export it, or write $${ for a literal ${", name)
			}
			b.WriteString(v)
			vars = append(vars, name)
			i += 3 + end
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), vars, nil
}

func validEnvName(name string) bool {
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, c := range []byte(name) {
		if !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}
