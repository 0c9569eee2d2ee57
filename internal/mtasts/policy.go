package mtasts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Mode is the mode of an MTA-STS policy (RFC 8461 §5).
type Mode string

// The three policy modes; the values are case-sensitive on the wire.
const (
	ModeEnforce Mode = "enforce"
	ModeTesting Mode = "testing"
	ModeNone    Mode = "none"
)

// Valid reports whether m is one of the three modes RFC 8461 defines.
func (m Mode) Valid() bool {
	return m == ModeEnforce || m == ModeTesting || m == ModeNone
}

// MaxMaxAge is the largest max_age a policy may carry: one year in seconds
// (RFC 8461 §3.2).
const MaxMaxAge = 31557600

// idHexDigits is how many hex digits of the SHA-256 make up a policy id.
const idHexDigits = 20

// Policy is an MTA-STS policy (the body of /.well-known/mta-sts.txt).
type Policy struct {
	Mode   Mode
	MaxAge int64    // seconds
	MX     []string // patterns: "mail.example.com" or "*.example.com", lower-case A-labels, no trailing dot
}

// Validate reports the first thing that makes p unfit to publish: an unknown
// mode, a max_age outside 0..MaxMaxAge, no mx pattern although the mode is not
// none, or an invalid mx pattern.
func (p Policy) Validate() error {
	if !p.Mode.Valid() {
		return fmt.Errorf("mode %q is not valid: use enforce, testing or none (lower case)", string(p.Mode))
	}
	if p.MaxAge < 0 || p.MaxAge > MaxMaxAge {
		return fmt.Errorf("max_age %d is out of range: use 0 to %d seconds (one year)", p.MaxAge, MaxMaxAge)
	}
	if len(p.MX) == 0 && p.Mode != ModeNone {
		return fmt.Errorf("mx is empty: mode %s needs at least one mx pattern", p.Mode)
	}
	for _, mx := range p.MX {
		if err := ValidateMXPattern(mx); err != nil {
			return fmt.Errorf("mx: %w", err)
		}
	}
	return nil
}

// Normalize returns a copy of p with the mx patterns lower-cased,
// deduplicated and sorted, so that neither the order nor the case of mx
// entries in a config changes the policy id.
func (p Policy) Normalize() Policy {
	var mx []string
	if len(p.MX) > 0 {
		mx = make([]string, len(p.MX))
		for i, m := range p.MX {
			mx[i] = strings.ToLower(m)
		}
		slices.Sort(mx)
		mx = slices.Compact(mx)
	}
	return Policy{Mode: p.Mode, MaxAge: p.MaxAge, MX: mx}
}

// Render returns the policy file as served, per RFC 8461 §3.2 with CRLF line
// ends: version, mode, the mx lines in the order held, max_age.
func (p Policy) Render() []byte {
	var b bytes.Buffer
	b.WriteString("version: STSv1\r\n")
	b.WriteString("mode: " + string(p.Mode) + "\r\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + mx + "\r\n")
	}
	b.WriteString("max_age: " + strconv.FormatInt(p.MaxAge, 10) + "\r\n")
	return b.Bytes()
}

// ID returns the policy id for the `_mta-sts` record: the first 20 lower-case
// hex digits of the SHA-256 of the rendered normalised policy (see the package
// documentation).
func (p Policy) ID() string {
	sum := sha256.Sum256(p.Normalize().Render())
	return hex.EncodeToString(sum[:])[:idHexDigits]
}

// Covers reports whether some mx pattern of p matches host.
func (p Policy) Covers(host string) bool {
	for _, mx := range p.MX {
		if MatchMX(mx, host) {
			return true
		}
	}
	return false
}

// Equal reports whether p and q mean the same policy: same mode and max_age
// and the same set of mx patterns, ignoring order, case and duplicates.
func (p Policy) Equal(q Policy) bool {
	p, q = p.Normalize(), q.Normalize()
	return p.Mode == q.Mode && p.MaxAge == q.MaxAge && slices.Equal(p.MX, q.MX)
}

// Field names of the policy file; case-sensitive (RFC 8461 §3.2, %s strings).
const (
	fieldVersion = "version"
	fieldMode    = "mode"
	fieldMaxAge  = "max_age"
	fieldMX      = "mx"
)

// ParsePolicy parses a policy body per RFC 8461 §3.2 (errata 6253): lines end
// in LF or CRLF (the last terminator optional); a bare CR anywhere is an
// error; no leading whitespace, no blank lines; each line
// `name ":" *WSP value *WSP`; unknown fields are ignored; a repeated field
// other than mx keeps its first value (with a warning); version must be
// exactly "STSv1" and present; mode one of the three (case-sensitive);
// max_age 1*10DIGIT and at most MaxMaxAge; mx patterns valid; at least one mx
// unless the mode is none. The mx patterns are returned as written.
// Warnings are human sentences for things that are legal but suspicious.
func ParsePolicy(body []byte) (Policy, []string, error) {
	var (
		p        Policy
		warnings []string
		seen     = map[string]string{} // field -> first value, for fields other than mx
		mxSeen   = map[string]bool{}
	)
	lines, err := splitPolicyLines(body)
	if err != nil {
		return Policy{}, nil, err
	}
	for i, line := range lines {
		n := i + 1
		name, value, err := parsePolicyLine(line)
		if err != nil {
			return Policy{}, nil, fmt.Errorf("policy line %d: %w", n, err)
		}
		switch name {
		case fieldVersion, fieldMode, fieldMaxAge:
			if first, ok := seen[name]; ok {
				warnings = append(warnings, fmt.Sprintf("line %d: %s appears again; keeping the first value %q and ignoring %q", n, name, first, value))
				continue
			}
			seen[name] = value
		case fieldMX:
		default:
			w := fmt.Sprintf("line %d: unknown field %q ignored", n, name)
			if known := knownFieldFold(name); known != "" {
				w += fmt.Sprintf(" (field names are case-sensitive: did you mean %q?)", known)
			}
			warnings = append(warnings, w)
			continue
		}
		switch name {
		case fieldVersion:
			if value != "STSv1" {
				return Policy{}, nil, fmt.Errorf("policy line %d: version %q is not valid: it must be exactly STSv1", n, value)
			}
		case fieldMode:
			p.Mode = Mode(value)
			if !p.Mode.Valid() {
				return Policy{}, nil, fmt.Errorf("policy line %d: mode %q is not valid: use enforce, testing or none (lower case)", n, value)
			}
		case fieldMaxAge:
			age, err := parseMaxAge(value)
			if err != nil {
				return Policy{}, nil, fmt.Errorf("policy line %d: %w", n, err)
			}
			p.MaxAge = age
		case fieldMX:
			if err := ValidateMXPattern(value); err != nil {
				return Policy{}, nil, fmt.Errorf("policy line %d: %w", n, err)
			}
			key := strings.ToLower(value)
			if mxSeen[key] {
				warnings = append(warnings, fmt.Sprintf("line %d: mx %q is listed more than once", n, value))
			}
			mxSeen[key] = true
			p.MX = append(p.MX, value)
		}
	}
	for _, required := range []string{fieldVersion, fieldMode, fieldMaxAge} {
		if _, ok := seen[required]; !ok {
			return Policy{}, nil, fmt.Errorf("policy has no %s field: add a %q line", required, required+": …")
		}
	}
	if len(p.MX) == 0 && p.Mode != ModeNone {
		return Policy{}, nil, fmt.Errorf("policy has no mx field: mode %s needs at least one \"mx: …\" line", p.Mode)
	}
	if p.Mode != ModeNone && p.MaxAge < 86400 {
		warnings = append(warnings, fmt.Sprintf("max_age %d is less than one day; RFC 8461 §3.2 suggests weeks or more so that policies survive between deliveries", p.MaxAge))
	}
	return p, warnings, nil
}

// splitPolicyLines splits body at LF or CRLF, allowing the last line without a
// terminator and rejecting a bare CR and blank lines.
func splitPolicyLines(body []byte) ([]string, error) {
	if len(body) == 0 {
		return nil, errors.New("policy is empty: it needs version, mode, max_age and mx lines")
	}
	text := string(body)
	if t, ok := strings.CutSuffix(text, "\n"); ok {
		text = strings.TrimSuffix(t, "\r")
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		// Every line but the last lost its LF in the split, so a CR left at
		// its end is the first half of a CRLF. The last line's terminator (if
		// any) is already gone, so any CR left in it is bare.
		if i < len(lines)-1 {
			line = strings.TrimSuffix(line, "\r")
		}
		if strings.Contains(line, "\r") {
			return nil, fmt.Errorf("policy line %d contains a bare CR: end lines with LF or CRLF", i+1)
		}
		if line == "" {
			return nil, fmt.Errorf("policy line %d is blank: remove blank lines", i+1)
		}
		lines[i] = line
	}
	return lines, nil
}

// parsePolicyLine splits `name ":" *WSP value *WSP`.
func parsePolicyLine(line string) (name, value string, err error) {
	if strings.HasPrefix(line, "\uFEFF") {
		return "", "", errors.New("starts with a UTF-8 byte order mark: save the file without a BOM")
	}
	if isWSP(line[0]) {
		return "", "", errors.New("starts with whitespace: remove leading spaces and tabs")
	}
	name, rest, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", fmt.Errorf("%q has no ':': write fields as \"name: value\"", line)
	}
	if err := validateFieldName(name); err != nil {
		return "", "", err
	}
	value = strings.TrimRight(strings.TrimLeft(rest, " \t"), " \t")
	for _, r := range value {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return "", "", fmt.Errorf("field %s: value contains control character %q", name, r)
		}
	}
	return name, value, nil
}

// validateFieldName checks the field-name grammar shared by policies and TXT
// records: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
func validateFieldName(name string) error {
	if name == "" {
		return errors.New("field name is empty")
	}
	if len(name) > 32 {
		return fmt.Errorf("field name %q is longer than 32 characters", name)
	}
	if !isAlnum(name[0]) {
		return fmt.Errorf("field name %q must start with a letter or digit", name)
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return fmt.Errorf("field name %q contains %q: only letters, digits, '_', '-' and '.' are allowed", name, c)
		}
	}
	return nil
}

func knownFieldFold(name string) string {
	for _, known := range []string{fieldVersion, fieldMode, fieldMaxAge, fieldMX} {
		if strings.EqualFold(name, known) {
			return known
		}
	}
	return ""
}

func parseMaxAge(value string) (int64, error) {
	if value == "" || len(value) > 10 || strings.Trim(value, "0123456789") != "" {
		return 0, fmt.Errorf("max_age %q is not valid: use 1 to 10 digits of seconds, at most %d", value, MaxMaxAge)
	}
	age, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("max_age %q: %w", value, err)
	}
	if age > MaxMaxAge {
		return 0, fmt.Errorf("max_age %d is more than %d (one year): lower it", age, MaxMaxAge)
	}
	return age, nil
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }
