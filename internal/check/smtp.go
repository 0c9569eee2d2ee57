package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/smtp"
	"strconv"

	"github.com/mtasts-sync/mtasts-sync/internal/mtasts"
)

// ehloName is what we announce in EHLO; a probe has no real host name to give,
// and "localhost" is what net/smtp sends by default and servers accept.
const ehloName = "localhost"

// checkSMTP connects to mx the way a sending MTA does (EHLO, STARTTLS,
// certificate valid for the MX name). Any of these failing is a fail: under
// enforce it is exactly what makes senders refuse mail, and under testing
// it is what the policy is being tested for. mode ("" when no policy could
// be read) only says in the reason what senders do about it now.
func (c *Checker) checkSMTP(ctx context.Context, mx string, mode mtasts.Mode) Result {
	name := "smtp " + mx
	bad := func(format string, args ...any) Result {
		reason := fmt.Sprintf(format, args...)
		switch mode {
		case mtasts.ModeTesting:
			reason += ": senders deliver anyway under mode testing and report it; under enforce they would refuse"
		case mtasts.ModeNone:
			reason += ": no MTA-STS effect under mode none, but STARTTLS-capable senders fall back to plain text"
		default:
			reason += ": senders enforcing MTA-STS refuse to deliver"
		}
		return Result{Check: name, Verdict: Fail, Reason: reason}
	}

	cfg := &tls.Config{
		ServerName: mx,
		RootCAs:    c.opts.RootCAs,
		// Accept old versions in the handshake so we can name the version in
		// the verdict instead of reporting an opaque handshake failure.
		MinVersion: tls.VersionTLS10,
		Time:       c.opts.Now,
	}
	addr := net.JoinHostPort(mx, strconv.Itoa(c.opts.SMTPPort))
	state, err := c.starttls(ctx, addr, mx, cfg)
	if err != nil {
		return bad("%v", err)
	}
	if state.Version < tls.VersionTLS12 {
		return bad("%s negotiated %s: enable TLS 1.2 or newer", addr, tls.VersionName(state.Version))
	}

	r := Result{Check: name, Verdict: Pass}
	var expiry string
	if len(state.PeerCertificates) > 0 {
		notAfter := state.PeerCertificates[0].NotAfter
		expiry = " until " + notAfter.UTC().Format("2006-01-02")
		if w := expiryNote(mx, notAfter, c.opts.Now()); w != "" {
			r.Verdict, r.Reason = Warn, w
			return r
		}
	}
	r.Reason = fmt.Sprintf("STARTTLS with %s, certificate valid for %s%s", tls.VersionName(state.Version), mx, expiry)
	return r
}

// starttls connects to addr the way a sending MTA does (greeting, EHLO,
// STARTTLS) and completes the TLS handshake with cfg, for host. It is the
// one SMTP client of the program: the smtp check verifies the chain with
// it, and the DANE check and the TLSA gate read the served key with it.
// Errors name addr and the step that failed, with a hint where one helps.
func (c *Checker) starttls(ctx context.Context, addr, host string, cfg *tls.Config) (tls.ConnectionState, error) {
	var none tls.ConnectionState
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	conn, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return none, fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	defer conn.Close()
	// net/smtp knows no context: a deadline and a close on cancel stand in for it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return none, fmt.Errorf("%s: %w", addr, err)
		}
	}

	// The SMTP client reads lines and multi-line replies without bound:
	// cap the whole conversation, handshake included, so a host sending
	// an endless banner within the timeout cannot fill our memory.
	conn = &cappedConn{Conn: conn, left: maxSMTPRead}
	client, err := smtp.NewClient(conn, host)
	if err != nil {
		return none, fmt.Errorf("%s: greeting: %w", addr, err)
	}
	defer client.Close()
	if err := client.Hello(ehloName); err != nil {
		return none, fmt.Errorf("%s: EHLO: %w", addr, err)
	}
	if ok, _ := client.Extension("STARTTLS"); !ok {
		return none, fmt.Errorf("%s does not offer STARTTLS: enable TLS in the mail server", addr)
	}
	if err := client.StartTLS(cfg); err != nil {
		if hint, cause := tlsProblem(host, err); hint != "" {
			return none, fmt.Errorf("%s: STARTTLS: %w: %s", addr, cause, hint)
		}
		return none, fmt.Errorf("%s: STARTTLS: %w", addr, err)
	}
	state, _ := client.TLSConnectionState()
	_ = client.Quit() // the handshake is done; a rude QUIT reply changes nothing
	return state, nil
}

// maxSMTPRead bounds what one SMTP probe reads: greeting, EHLO reply and
// the TLS handshake of a long chain take a few tens of KiB.
const maxSMTPRead = 1 << 20

// errSMTPTooMuch ends a probe whose host sent more than maxSMTPRead.
var errSMTPTooMuch = fmt.Errorf("the server sent more than %d KiB before the TLS handshake ended: not an SMTP server's greeting, EHLO reply and certificates", maxSMTPRead>>10)

// cappedConn fails reads past a byte budget.
type cappedConn struct {
	net.Conn
	left int64
}

func (c *cappedConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errSMTPTooMuch
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}

// submissionsPort speaks TLS from the first byte (RFC 8314), not STARTTLS.
const submissionsPort = 465

// implicitTLS completes a TLS handshake with cfg right after connecting.
func (c *Checker) implicitTLS(ctx context.Context, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	conn, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	defer conn.Close()
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, fmt.Errorf("%s: TLS: %w", addr, err)
	}
	return tc.ConnectionState(), nil
}

// ServedChain reads the certificate chain host serves on port over
// STARTTLS (implicit TLS on 465), leaf first, without judging it: DANE-EE pins a key, not a CA,
// so a self-signed or expired certificate is read like any other.
func (c *Checker) ServedChain(ctx context.Context, host string, port int) ([]*x509.Certificate, error) {
	cfg := &tls.Config{
		ServerName: host,
		// The chain is checked against TLSA records by the caller.
		InsecureSkipVerify: true, //nolint:gosec // DANE authenticates by TLSA, see above
		MinVersion:         tls.VersionTLS10,
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var state tls.ConnectionState
	var err error
	if port == submissionsPort {
		state, err = c.implicitTLS(ctx, addr, cfg)
	} else {
		state, err = c.starttls(ctx, addr, host, cfg)
	}
	if err != nil {
		return nil, err
	}
	if len(state.PeerCertificates) == 0 {
		return nil, fmt.Errorf("%s:%d presented no certificate", host, port)
	}
	return state.PeerCertificates, nil
}
