package check

import (
	"context"
	"crypto/tls"
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

	addr := net.JoinHostPort(mx, strconv.Itoa(c.opts.SMTPPort))
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	conn, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return bad("cannot connect to %s: %v", addr, err)
	}
	defer conn.Close()
	// net/smtp knows no context: a deadline and a close on cancel stand in for it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return bad("%s: %v", addr, err)
		}
	}

	client, err := smtp.NewClient(conn, mx)
	if err != nil {
		return bad("%s: greeting: %v", addr, err)
	}
	defer client.Close()
	if err := client.Hello(ehloName); err != nil {
		return bad("%s: EHLO: %v", addr, err)
	}
	if ok, _ := client.Extension("STARTTLS"); !ok {
		return bad("%s does not offer STARTTLS: enable TLS in the mail server", addr)
	}
	cfg := &tls.Config{
		ServerName: mx,
		RootCAs:    c.opts.RootCAs,
		// Accept old versions in the handshake so we can name the version in
		// the verdict instead of reporting an opaque handshake failure.
		MinVersion: tls.VersionTLS10,
		Time:       c.opts.Now,
	}
	if err := client.StartTLS(cfg); err != nil {
		if hint, cause := tlsProblem(mx, err); hint != "" {
			return bad("%s: STARTTLS: %v: %s", addr, cause, hint)
		}
		return bad("%s: STARTTLS: %v", addr, err)
	}
	state, _ := client.TLSConnectionState()
	if state.Version < tls.VersionTLS12 {
		return bad("%s negotiated %s: enable TLS 1.2 or newer", addr, tls.VersionName(state.Version))
	}
	_ = client.Quit() // the verdict is settled; a rude QUIT reply changes nothing

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
