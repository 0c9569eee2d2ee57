package mtasts

import (
	"errors"
	"fmt"
	"strings"
)

// Version tags of the two TXT records (case-sensitive).
const (
	stsVersion    = "v=STSv1"
	tlsrptVersion = "v=TLSRPTv1"
)

// maxIDLen is the longest id the §3.1 grammar allows: 1*32(ALPHA / DIGIT).
const maxIDLen = 32

// Extension is an extension field of a TXT record (name=value), kept in order.
type Extension struct{ Name, Value string }

// STSRecord is a `_mta-sts` TXT record (RFC 8461 §3.1).
type STSRecord struct {
	ID         string
	Extensions []Extension
}

// ParseSTSRecord parses a `_mta-sts` TXT value per the RFC 8461 §3.1 ABNF
// (case-sensitive): it must start with "v=STSv1"; fields are separated by
// *WSP ";" *WSP with an optional trailing delimiter; exactly one
// id=1*32(ALPHA/DIGIT); any other field is an extension
// name=value. "v=STSv1 ;" is accepted with a warning because the prefix test
// of senders (errata 6285) would discard it.
func ParseSTSRecord(txt string) (STSRecord, []string, error) {
	fields, warnings, err := splitRecord(txt, stsVersion)
	if err != nil {
		return STSRecord{}, nil, err
	}
	var (
		r     STSRecord
		hasID bool
	)
	for _, f := range fields {
		if f.name == "id" {
			if hasID {
				return STSRecord{}, nil, fmt.Errorf("%s record has more than one id field: keep exactly one", stsVersion)
			}
			if err := ValidateID(f.value); err != nil {
				return STSRecord{}, nil, fmt.Errorf("%s record: %w", stsVersion, err)
			}
			r.ID, hasID = f.value, true
			continue
		}
		r.Extensions = append(r.Extensions, Extension{Name: f.name, Value: f.value})
	}
	if !hasID {
		return STSRecord{}, nil, fmt.Errorf("%s record has no id field: add \"; id=<policy id>\" (lower-case \"id\")", stsVersion)
	}
	return r, warnings, nil
}

// ValidateID reports whether id fits the policy id grammar 1*32(ALPHA / DIGIT).
func ValidateID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("id %q must be 1 to %d letters and digits, it has %d characters", id, maxIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) {
			return fmt.Errorf("id %q contains %q: use only letters and digits", id, id[i])
		}
	}
	return nil
}

// Validate reports whether r would render (via String) to a record that
// ParseSTSRecord accepts.
func (r STSRecord) Validate() error {
	if err := ValidateID(r.ID); err != nil {
		return err
	}
	return validateExtensions(r.Extensions, "id")
}

// String renders r canonically: "v=STSv1; id=<ID>" then "; name=value" per
// extension.
func (r STSRecord) String() string {
	var b strings.Builder
	b.WriteString(stsVersion + "; id=" + r.ID)
	writeExtensions(&b, r.Extensions)
	return b.String()
}

// IsSTSRecord reports whether txt is (or tries to be) an MTA-STS record: it
// starts with "v=STSv1" followed by the end of the string, ';', a space or a
// tab. It decides which TXT records at `_mta-sts` are ours.
func IsSTSRecord(txt string) bool { return hasVersionTag(txt, stsVersion) }

// TLSRPTRecord is an `_smtp._tls` TXT record (RFC 8460 §3).
type TLSRPTRecord struct {
	RUA        []string
	Extensions []Extension
}

// ParseTLSRPTRecord parses an `_smtp._tls` TXT value per RFC 8460 §3: it must
// start with "v=TLSRPTv1"; fields are separated by *WSP ";" *WSP with an
// optional trailing delimiter; exactly one rua field
// `rua=URI *(*WSP "," *WSP URI)` whose URIs pass ValidateRUA; any other field
// is an extension name=value.
func ParseTLSRPTRecord(txt string) (TLSRPTRecord, []string, error) {
	fields, warnings, err := splitRecord(txt, tlsrptVersion)
	if err != nil {
		return TLSRPTRecord{}, nil, err
	}
	var (
		r      TLSRPTRecord
		hasRUA bool
	)
	for _, f := range fields {
		if f.name == "rua" {
			if hasRUA {
				return TLSRPTRecord{}, nil, fmt.Errorf("%s record has more than one rua field: put all URIs in one, separated by commas", tlsrptVersion)
			}
			for _, uri := range strings.Split(f.value, ",") {
				uri = strings.Trim(uri, " \t")
				if err := ValidateRUA(uri); err != nil {
					return TLSRPTRecord{}, nil, fmt.Errorf("%s record: rua: %w", tlsrptVersion, err)
				}
				r.RUA = append(r.RUA, uri)
			}
			hasRUA = true
			continue
		}
		r.Extensions = append(r.Extensions, Extension{Name: f.name, Value: f.value})
	}
	if !hasRUA {
		return TLSRPTRecord{}, nil, fmt.Errorf("%s record has no rua field: add \"; rua=mailto:…\" (lower-case \"rua\")", tlsrptVersion)
	}
	return r, warnings, nil
}

// Validate reports whether r would render (via String) to a record that
// ParseTLSRPTRecord accepts.
func (r TLSRPTRecord) Validate() error {
	if len(r.RUA) == 0 {
		return errors.New("rua is empty: give at least one mailto: or https: URI")
	}
	for _, uri := range r.RUA {
		if err := ValidateRUA(uri); err != nil {
			return fmt.Errorf("rua: %w", err)
		}
	}
	return validateExtensions(r.Extensions, "rua")
}

// String renders r canonically: "v=TLSRPTv1; rua=a,b" then "; name=value" per
// extension.
func (r TLSRPTRecord) String() string {
	var b strings.Builder
	b.WriteString(tlsrptVersion + "; rua=" + strings.Join(r.RUA, ","))
	writeExtensions(&b, r.Extensions)
	return b.String()
}

// IsTLSRPTRecord reports whether txt is (or tries to be) a TLSRPT record: it
// starts with "v=TLSRPTv1" followed by the end of the string, ';', a space or
// a tab.
func IsTLSRPTRecord(txt string) bool { return hasVersionTag(txt, tlsrptVersion) }

// CanonicalTXT returns the comparison form of a TXT value: two values mean
// the same record exactly when their forms are equal. Two STS records are
// equal when their ids and extensions are; two TLSRPT records when their
// rua lists (in order) and extensions are; anything else is compared byte
// for byte. A record that senders would discard because it lacks the exact
// "v=STSv1;" / "v=TLSRPTv1;" prefix (errata 6285) is never equal to one
// they accept, so a sync replaces it. The form is a key, not a value to
// publish.
func CanonicalTXT(txt string) string {
	if s, _, err := ParseSTSRecord(txt); err == nil {
		return canonicalForm(s.String(), senderPrefixOK(txt, stsVersion))
	}
	if t, _, err := ParseTLSRPTRecord(txt); err == nil {
		return canonicalForm(t.String(), senderPrefixOK(txt, tlsrptVersion))
	}
	return "raw\x00" + txt
}

func canonicalForm(s string, senderOK bool) string {
	if senderOK {
		return "rec\x00" + s
	}
	return "lenient\x00" + s
}

// senderPrefixOK is the prose test of RFC 8461 §3.1 and RFC 8460 §3: senders
// keep only records that begin with the version tag directly followed by ';'.
func senderPrefixOK(txt, version string) bool {
	return strings.HasPrefix(txt, version+";")
}

func hasVersionTag(txt, version string) bool {
	rest, ok := strings.CutPrefix(txt, version)
	return ok && (rest == "" || rest[0] == ';' || isWSP(rest[0]))
}

type recordField struct{ name, value string }

// splitRecord checks the shared skeleton of both records,
// version 1*(field-delim field) [field-delim] with field-delim = *WSP ";" *WSP,
// and splits the fields into name and value. Extension values are checked
// here; the fields with their own grammar (id, rua) are left to the caller.
func splitRecord(txt, version string) ([]recordField, []string, error) {
	for i := 0; i < len(txt); i++ {
		if c := txt[i]; (c < 0x20 && c != '\t') || c >= 0x7f {
			return nil, nil, fmt.Errorf("%s record contains %q at byte %d: only printable ASCII is allowed", version, c, i)
		}
	}
	rest, ok := strings.CutPrefix(txt, version)
	if !ok {
		if len(txt) >= len(version) && strings.EqualFold(txt[:len(version)], version) {
			return nil, nil, fmt.Errorf("record %q must start with exactly %q (the tag is case-sensitive)", txt, version)
		}
		return nil, nil, fmt.Errorf("record %q does not start with %q", txt, version)
	}
	parts := strings.Split(rest, ";")
	if len(parts) == 1 {
		if strings.Trim(rest, " \t") == "" {
			return nil, nil, fmt.Errorf("%s record has no fields: add \"; %s\"", version, requiredField(version))
		}
		return nil, nil, fmt.Errorf("%s record: expected ';' after %q, found %q", version, version, rest)
	}
	var warnings []string
	switch lead := parts[0]; {
	case strings.Trim(lead, " \t") != "":
		return nil, nil, fmt.Errorf("%s record: expected ';' after %q, found %q", version, version, lead)
	case lead != "":
		warnings = append(warnings, fmt.Sprintf("whitespace between %s and ';': the RFC grammar allows it, but senders keep only records that begin with %q (errata 6285), so they would ignore this one; remove the whitespace", version, version+";"))
	}
	var fields []recordField
	last := len(parts) - 1
	for i := 1; i < len(parts); i++ {
		part := parts[i]
		if i == last {
			if strings.Trim(part, " \t") == "" {
				break // a trailing delimiter
			}
			if trimmed := strings.TrimRight(part, " \t"); trimmed != part {
				return nil, nil, fmt.Errorf("%s record ends with whitespace after %q: remove it (only \";\" may follow the last field)", version, strings.TrimLeft(trimmed, " \t"))
			}
		}
		field := strings.Trim(part, " \t")
		if field == "" {
			return nil, nil, fmt.Errorf("%s record has an empty field (two ';' in a row): remove one", version)
		}
		name, value, ok := strings.Cut(field, "=")
		if !ok {
			return nil, nil, fmt.Errorf("%s record: field %q has no '=': write fields as name=value", version, field)
		}
		if err := validateFieldName(name); err != nil {
			return nil, nil, fmt.Errorf("%s record: %w", version, err)
		}
		if name != requiredFieldName(version) {
			if err := validateExtensionValue(name, value); err != nil {
				return nil, nil, fmt.Errorf("%s record: %w", version, err)
			}
		}
		fields = append(fields, recordField{name: name, value: value})
	}
	if len(fields) == 0 {
		return nil, nil, fmt.Errorf("%s record has no fields: add \"; %s\"", version, requiredField(version))
	}
	return fields, warnings, nil
}

func requiredFieldName(version string) string {
	if version == stsVersion {
		return "id"
	}
	return "rua"
}

func requiredField(version string) string {
	if version == stsVersion {
		return "id=<policy id>"
	}
	return "rua=mailto:…"
}

// validateExtensionValue checks 1*(%x21-3A / %x3C / %x3E-7E): printable
// ASCII without space, ';' and '='.
func validateExtensionValue(name, value string) error {
	if value == "" {
		return fmt.Errorf("extension %s has an empty value", name)
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return fmt.Errorf("extension %s: value %q contains %q, which is not allowed (no spaces, ';' or '=')", name, value, c)
		}
	}
	return nil
}

func validateExtensions(exts []Extension, reserved string) error {
	for _, e := range exts {
		if err := validateFieldName(e.Name); err != nil {
			return fmt.Errorf("extension: %w", err)
		}
		if e.Name == reserved {
			return fmt.Errorf("extension %q clashes with the record's own %s field", e.Name, reserved)
		}
		if err := validateExtensionValue(e.Name, e.Value); err != nil {
			return err
		}
	}
	return nil
}

func writeExtensions(b *strings.Builder, exts []Extension) {
	for _, e := range exts {
		b.WriteString("; " + e.Name + "=" + e.Value)
	}
}
