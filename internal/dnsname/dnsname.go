// Package dnsname turns the domain names users write into the one canonical
// form the rest of the program compares: A-labels, lower case, no trailing dot.
package dnsname

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

const (
	maxLabelLen = 63
	// maxNameLen is the longest textual name without the trailing dot that
	// fits the 255-octet wire limit (RFC 1035 §2.3.4).
	maxNameLen = 253
)

// Normalize turns a user-given domain name into the canonical form used
// everywhere: IDN → A-label (idna.Lookup profile, so "Bücher.example" →
// "xn--bcher-kva.example"), lower-case, no trailing dot. The error says what is
// wrong with the name and quotes it.
func Normalize(name string) (string, error) {
	if err := precheck(name); err != nil {
		return "", fmt.Errorf("domain name %q: %w", name, err)
	}
	trimmed := strings.TrimSuffix(name, ".")
	ascii, err := idna.Lookup.ToASCII(trimmed)
	if err != nil {
		return "", fmt.Errorf("domain name %q: %w", name, explainIDNA(err))
	}
	ascii = strings.ToLower(ascii)
	// The result must be a fixed point, or two spellings of one name could
	// compare unequal later.
	if again, err := idna.Lookup.ToASCII(ascii); err != nil || again != ascii || !isLDH(ascii) {
		return "", fmt.Errorf("domain name %q: not a valid internationalised name", name)
	}
	// The IDNA mapping can create new dots (U+3002 "。" maps to "."), so the
	// structural checks run again on the result.
	if err := checkLabels(ascii, true); err != nil {
		return "", fmt.Errorf("domain name %q: %w", name, err)
	}
	return ascii, nil
}

// precheck catches the common mistakes before IDNA processing so that the
// message names the mistake rather than an IDNA rule number.
func precheck(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == ".":
		return errors.New("the root is not a domain name")
	case !utf8.ValidString(name):
		return errors.New("not valid UTF-8")
	case strings.TrimSpace(name) != name:
		return errors.New("leading or trailing whitespace")
	case strings.HasSuffix(name, ".."):
		return errors.New("empty label (two dots at the end)")
	case strings.ContainsRune(name, '*'):
		return errors.New("wildcard \"*\" not allowed in a domain name")
	case strings.ContainsRune(name, '_'):
		return errors.New("underscore not allowed in a mail domain")
	case strings.ContainsRune(name, '@'):
		return errors.New("\"@\" not allowed: give the domain, not a mail address")
	case strings.Contains(name, "://"):
		return errors.New("give the domain name, not a URL")
	}
	// Lengths are checked only on the A-label form: a U-label can be longer
	// or shorter than its punycode.
	return checkLabels(strings.TrimSuffix(name, "."), false)
}

func checkLabels(name string, checkLength bool) error {
	if checkLength && len(name) > maxNameLen {
		return fmt.Errorf("name too long (%d characters, at most %d)", len(name), maxNameLen)
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		switch {
		case label == "":
			return errors.New("empty label (leading dot or two dots in a row)")
		case checkLength && len(label) > maxLabelLen:
			return fmt.Errorf("label too long (%q has %d characters, at most %d)", truncate(label), len(label), maxLabelLen)
		case strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-"):
			return fmt.Errorf("label %q starts or ends with a hyphen", label)
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return errors.New("the last label is all digits: an IP address is not a domain name")
	}
	return nil
}

func explainIDNA(err error) error {
	msg := strings.TrimPrefix(err.Error(), "idna: ")
	switch {
	case strings.HasPrefix(msg, "disallowed rune"):
		return fmt.Errorf("character not allowed in a host name (%s)", strings.TrimPrefix(msg, "disallowed rune "))
	case strings.HasPrefix(msg, "invalid label"):
		return fmt.Errorf("%s (check hyphens, punycode and mixed scripts)", msg)
	}
	return errors.New(msg)
}

func isLDH(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '.' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func truncate(s string) string {
	const keep = 20
	if len(s) <= keep {
		return s
	}
	return s[:keep] + "…"
}

// FQDN returns the name lower-cased with exactly one trailing dot (no
// validation).
func FQDN(name string) string {
	return strings.TrimRight(strings.ToLower(name), ".") + "."
}

// IsSubdomain reports whether child equals parent or lies below it
// (label-wise, case-insensitive, dots optional). Every name lies below the
// root, written "" or ".".
func IsSubdomain(child, parent string) bool {
	child = strings.TrimSuffix(strings.ToLower(child), ".")
	parent = strings.TrimSuffix(strings.ToLower(parent), ".")
	if parent == "" {
		return true
	}
	return child == parent || strings.HasSuffix(child, "."+parent)
}
