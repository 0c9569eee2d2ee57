package checktest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// CertsBySNI returns a GetCertificate function serving certs[SNI], or fallback
// when the SNI is unknown (nil fallback: the handshake fails).
func CertsBySNI(certs map[string]*tls.Certificate, fallback *tls.Certificate) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if c, ok := certs[strings.ToLower(hello.ServerName)]; ok {
			return c, nil
		}
		if fallback != nil {
			return fallback, nil
		}
		return nil, errors.New("checktest: no certificate for SNI " + hello.ServerName)
	}
}

// StartHTTPS starts an HTTPS server on 127.0.0.1 that picks its certificate
// with cfg (which may also cap the TLS version) and returns its address; it
// stops when the test ends.
func StartHTTPS(t testing.TB, cfg *tls.Config, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = cfg
	// Handshake failures are what the tests provoke; they are not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// StartSMTP starts an SMTP server on 127.0.0.1 that offers STARTTLS with cfg
// (nil: no STARTTLS) and returns its address; it stops when the test ends.
func StartSMTP(t testing.TB, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("checktest: SMTP listener: %v", err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return session{}, nil }))
	srv.Domain = "mx.checktest.invalid"
	srv.TLSConfig = cfg
	srv.ErrorLog = discardLogger{}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// session accepts the envelope and discards the message; checks never send one.
type session struct{}

func (session) Reset()                               {}
func (session) Logout() error                        { return nil }
func (session) Mail(string, *smtp.MailOptions) error { return nil }
func (session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (session) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}
func (discardLogger) Println(...interface{})        {}

// Dialer routes "host:port" addresses to loopback servers; any other address
// fails as unreachable, so a test can never reach the internet.
type Dialer struct {
	// Routes maps a dialled "host:port" (lower-case host) to "127.0.0.1:port".
	Routes map[string]string
}

// DialContext dials the loopback address routed for addr.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	target, ok := d.Routes[strings.ToLower(addr)]
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("checktest: no route to " + addr)}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, target)
}
