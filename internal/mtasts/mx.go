package mtasts

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxHostnameLen is the longest textual hostname without the trailing dot
// that fits the 255-octet wire limit (RFC 1035 §2.3.4).
const maxHostnameLen = 253

// ValidateMXPattern reports whether pattern is a valid `mx:` value of a policy
// (RFC 8461 §3.2): a hostname of LDH A-labels, optionally prefixed by "*." as
// the whole left-most label. Upper case is accepted because DNS names are
// case-insensitive; Policy.Normalize lower-cases.
func ValidateMXPattern(pattern string) error {
	if pattern == "" {
		return errors.New("mx pattern is empty")
	}
	name := pattern
	wildcard := strings.HasPrefix(pattern, "*.")
	if wildcard {
		name = pattern[2:]
	}
	if strings.HasSuffix(name, ".") && strings.Trim(name, ".") != "" {
		return fmt.Errorf("mx pattern %q ends with a dot: remove the trailing dot", pattern)
	}
	if strings.Contains(name, "*") {
		return fmt.Errorf("mx pattern %q: a wildcard is allowed only as \"*.\" at the very start (e.g. \"*.example.com\")", pattern)
	}
	if strings.HasPrefix(name, "[") || isIPLiteral(name) {
		return fmt.Errorf("mx pattern %q is an IP address: use the MX host name", pattern)
	}
	if err := validateHostname(name, 2); err != nil {
		return fmt.Errorf("mx pattern %q: %w", pattern, err)
	}
	return nil
}

func isIPLiteral(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validateHostname checks an LDH hostname of A-labels without a trailing dot
// that has at least minLabels labels.
func validateHostname(name string, minLabels int) error {
	if name == "" {
		return errors.New("host name is empty")
	}
	if len(name) > maxHostnameLen {
		return fmt.Errorf("host name is %d characters long, more than %d", len(name), maxHostnameLen)
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if err := validateLabel(label); err != nil {
			return err
		}
	}
	if len(labels) < minLabels {
		return fmt.Errorf("host name needs at least %d labels (like \"mail.example.com\")", minLabels)
	}
	// A numeric top-level label would make the name indistinguishable from an
	// IPv4 address in many resolvers (RFC 3696 §2).
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("top-level label %q is all digits: this looks like an IP address, use a host name", tld)
	}
	return nil
}

func validateLabel(label string) error {
	switch {
	case label == "":
		return errors.New("empty label (two dots in a row, or a leading or trailing dot)")
	case len(label) > 63:
		return fmt.Errorf("label %q is %d characters long, more than 63", label, len(label))
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", label)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case isAlnum(c) || c == '-':
		case c == '_':
			return fmt.Errorf("label %q contains an underscore, which is not allowed in a host name", label)
		case c >= 0x80:
			return fmt.Errorf("label %q is not ASCII: write internationalised names as A-labels (xn--...)", label)
		default:
			return fmt.Errorf("label %q contains %q: only letters, digits and hyphens are allowed", label, c)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// MatchMX reports whether host matches the `mx:` pattern. The comparison is
// case-insensitive and host may end in a dot, as MX targets from DNS do. A
// pattern "*.example.com" matches exactly one extra left-most label
// (RFC 8461 §4.1): "mail.example.com" but neither "example.com" nor
// "a.b.example.com".
func MatchMX(pattern, host string) bool {
	host = strings.TrimSuffix(host, ".")
	if host == "" || pattern == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		label, parent, found := strings.Cut(host, ".")
		return found && label != "" && label != "*" && parent != "" && strings.EqualFold(parent, rest)
	}
	return strings.EqualFold(pattern, host)
}
