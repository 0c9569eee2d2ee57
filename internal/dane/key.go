package dane

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/mtasts-sync/mtasts-sync/internal/safefile"
)

// Key is a public key whose TLSA record we publish, and where it came from.
type Key struct {
	// SPKI is the DER SubjectPublicKeyInfo.
	SPKI []byte
	// From says what held the key, for messages: "certificate CN=mail.example.com,
	// valid until 2027-03-01", "public key" or "private key".
	From string
	// NotAfter is the certificate's expiry; zero for a bare key.
	NotAfter time.Time
}

// Record is the key's `3 1 1` TLSA record.
func (k Key) Record() Record { return EE(k.SPKI) }

// Digest is the hex SHA-256 of the key's SPKI: the data of its `3 1 1` record,
// what `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum` prints.
func (k Key) Digest() string {
	s := sha256.Sum256(k.SPKI)
	return hex.EncodeToString(s[:])
}

// KeyOf returns the key of a certificate.
func KeyOf(cert *x509.Certificate) Key {
	return Key{
		SPKI:     cert.RawSubjectPublicKeyInfo,
		From:     fmt.Sprintf("certificate CN=%s, valid until %s", cert.Subject.CommonName, cert.NotAfter.UTC().Format("2006-01-02")),
		NotAfter: cert.NotAfter,
	}
}

// ParsePEM takes the key from the first PEM block that holds one: a
// certificate (the leaf, first in a chain file as mailcow's cert.pem
// has it), a public key, or a private key (PKCS #8, PKCS #1 or SEC 1),
// whose public half is used. Errors never quote the file's content.
func ParsePEM(data []byte) (Key, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return Key{}, ErrNoKey
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return Key{}, fmt.Errorf("certificate: %w", err)
			}
			return KeyOf(c), nil
		case "PUBLIC KEY":
			pub, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return Key{}, fmt.Errorf("public key: %w", err)
			}
			return publicKey(pub, "public key")
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			pub, err := privatePublic(b)
			if err != nil {
				return Key{}, err
			}
			return publicKey(pub, "private key")
		}
	}
}

func publicKey(pub any, from string) (Key, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", from, err)
	}
	return Key{SPKI: der, From: from}, nil
}

// privatePublic returns the public half of a private key block. The
// parsers' errors describe the encoding, never the key.
func privatePublic(b *pem.Block) (any, error) {
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		key, err = x509.ParseECPrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("private key (%s): not a key we can read", b.Type)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key (%s): unsupported key type %T", b.Type, key)
	}
	return s.Public(), nil
}

// MaxFileBytes bounds a PEM file we read: a certificate chain is a few KiB.
const MaxFileBytes = 1 << 20

// ReadFile reads the key from the PEM file at path: a regular file (a
// symlink is followed) of at most MaxFileBytes. Errors name the path.
func ReadFile(path string) (Key, error) {
	data, err := safefile.ReadFile(path, MaxFileBytes)
	if err != nil {
		return Key{}, err
	}
	k, err := ParsePEM(data)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
