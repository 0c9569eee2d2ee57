// Package dane is the DANE model for SMTP (RFC 6698, RFC 7671, RFC 7672):
// it parses, renders and compares TLSA record data, computes the
// `3 1 1` digest (SHA-256 of the DER SubjectPublicKeyInfo) of a key read
// from a PEM file, names where a host's TLSA records live, and decides
// whether a TLSA record matches the certificate chain a server presents.
// It does no network I/O and imports only the standard library.
package dane

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Certificate usages (RFC 6698 §2.1.1, RFC 7218 acronyms).
const (
	PKIXTA = 0 // unusable for SMTP (RFC 7672 §3.1.3)
	PKIXEE = 1 // unusable for SMTP (RFC 7672 §3.1.3)
	DANETA = 2
	DANEEE = 3
)

// Selectors and matching types (RFC 6698 §2.1.2, §2.1.3).
const (
	SelectorCert = 0
	SelectorSPKI = 1

	MatchFull   = 0
	MatchSHA256 = 1
	MatchSHA512 = 2
)

// Record is the data of one TLSA record.
type Record struct {
	Usage, Selector, MatchingType uint8
	// Data is the certificate association data, as bytes.
	Data []byte
}

// EE returns the `3 1 1` record for the DER SubjectPublicKeyInfo spki:
// DANE-EE, SPKI, SHA-256, the record RFC 7671 §5.1 recommends for SMTP.
func EE(spki []byte) Record {
	sum := sha256.Sum256(spki)
	return Record{Usage: DANEEE, Selector: SelectorSPKI, MatchingType: MatchSHA256, Data: sum[:]}
}

// String renders the record data in presentation form with lower-case hex,
// the one form we write and compare: "3 1 1 0123…".
func (r Record) String() string {
	return fmt.Sprintf("%d %d %d %s", r.Usage, r.Selector, r.MatchingType, hex.EncodeToString(r.Data))
}

// Equal reports whether two records carry the same data.
func (r Record) Equal(o Record) bool {
	return r.Usage == o.Usage && r.Selector == o.Selector && r.MatchingType == o.MatchingType &&
		subtle.ConstantTimeCompare(r.Data, o.Data) == 1 && len(r.Data) == len(o.Data)
}

// Parse reads TLSA record data in presentation form: three decimal fields
// and the association data in hex, which may be split by white space
// (RFC 6698 §2.2) and may be in either case. A hash's length must match
// its matching type.
func Parse(s string) (Record, error) {
	f := strings.Fields(s)
	if len(f) < 4 {
		return Record{}, fmt.Errorf("TLSA data %q: want \"usage selector matching-type hex\", e.g. \"3 1 1 0123…\"", s)
	}
	var nums [3]uint8
	for i, what := range []string{"usage", "selector", "matching type"} {
		n, err := strconv.ParseUint(f[i], 10, 8)
		if err != nil {
			return Record{}, fmt.Errorf("TLSA data %q: %s %q is not a number from 0 to 255", s, what, f[i])
		}
		nums[i] = uint8(n)
	}
	data, err := hex.DecodeString(strings.Join(f[3:], ""))
	if err != nil {
		return Record{}, fmt.Errorf("TLSA data %q: the association data is not hex: %v", s, err)
	}
	r := Record{Usage: nums[0], Selector: nums[1], MatchingType: nums[2], Data: data}
	if want := hashLen(r.MatchingType); want > 0 && len(data) != want {
		return Record{}, fmt.Errorf("TLSA data %q: matching type %d needs %d bytes of hash, got %d", s, r.MatchingType, want, len(data))
	}
	if len(data) == 0 {
		return Record{}, fmt.Errorf("TLSA data %q: the association data is empty", s)
	}
	return r, nil
}

// Canonical returns s in the form String renders, or s unchanged (and
// false) when it does not parse: a foreign value is kept as it is.
func Canonical(s string) (string, bool) {
	r, err := Parse(s)
	if err != nil {
		return s, false
	}
	return r.String(), true
}

func hashLen(matchingType uint8) int {
	switch matchingType {
	case MatchSHA256:
		return sha256.Size
	case MatchSHA512:
		return sha512.Size
	}
	return 0
}

// Usable reports why a sending MTA would ignore r, or "" when it uses it:
// RFC 7672 §3.1.3 makes PKIX-TA(0) and PKIX-EE(1) unusable for SMTP, and
// unknown selectors or matching types are unusable everywhere.
func (r Record) Usable() string {
	switch {
	case r.Usage == PKIXTA || r.Usage == PKIXEE:
		return fmt.Sprintf("usage %d (PKIX) is unusable for SMTP (RFC 7672 §3.1.3)", r.Usage)
	case r.Usage > DANEEE:
		return fmt.Sprintf("usage %d is unknown", r.Usage)
	case r.Selector > SelectorSPKI:
		return fmt.Sprintf("selector %d is unknown", r.Selector)
	case r.MatchingType > MatchSHA512:
		return fmt.Sprintf("matching type %d is unknown", r.MatchingType)
	}
	return ""
}

// associate computes what r's selector and matching type make of cert.
func (r Record) associate(cert *x509.Certificate) []byte {
	var sel []byte
	switch r.Selector {
	case SelectorCert:
		sel = cert.Raw
	case SelectorSPKI:
		sel = cert.RawSubjectPublicKeyInfo
	default:
		return nil
	}
	switch r.MatchingType {
	case MatchFull:
		return sel
	case MatchSHA256:
		s := sha256.Sum256(sel)
		return s[:]
	case MatchSHA512:
		s := sha512.Sum512(sel)
		return s[:]
	}
	return nil
}

func (r Record) matchesCert(cert *x509.Certificate) bool {
	a := r.associate(cert)
	return a != nil && len(a) == len(r.Data) && subtle.ConstantTimeCompare(a, r.Data) == 1
}

// Matches reports whether r authenticates the chain a server presented
// (leaf first) for host, as RFC 7672 §3.1 has a sender decide:
//   - DANE-EE(3): the leaf matches; names and dates are not checked.
//   - DANE-TA(2): a certificate the server presented after the leaf matches
//     and the leaf chains to it, valid for host at now.
//
// Unusable records (Usable() != "") never match.
func (r Record) Matches(chain []*x509.Certificate, host string, now time.Time) bool {
	if len(chain) == 0 || r.Usable() != "" {
		return false
	}
	if r.Usage == DANEEE {
		return r.matchesCert(chain[0])
	}
	for i := 1; i < len(chain); i++ {
		if !r.matchesCert(chain[i]) {
			continue
		}
		roots := x509.NewCertPool()
		roots.AddCert(chain[i])
		inter := x509.NewCertPool()
		for _, c := range chain[1:i] {
			inter.AddCert(c)
		}
		_, err := chain[0].Verify(x509.VerifyOptions{
			DNSName: host, Roots: roots, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err == nil {
			return true
		}
	}
	return false
}

// Name is the owner of the TLSA records of host's port: `_<port>._tcp.<host>.`
// (RFC 6698 §3, RFC 7672 §2.2), lower-case with the trailing dot.
func Name(host string, port int) string {
	return fmt.Sprintf("_%d._tcp.%s.", port, strings.ToLower(strings.TrimSuffix(host, ".")))
}

// ParseName splits a TLSA owner name `_<port>._tcp.<host>` into host and
// port; ok is false for any other name.
func ParseName(name string) (host string, port int, ok bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	p, rest, found := strings.Cut(name, "._tcp.")
	if !found || !strings.HasPrefix(p, "_") || rest == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(p[1:])
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p[1:] {
		return "", 0, false
	}
	return rest, n, true
}

// ErrNoKey says a PEM file held nothing we can take a public key from.
var ErrNoKey = errors.New("no certificate, public key or private key in PEM form")
