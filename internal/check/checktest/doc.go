// Package checktest provides loopback servers for testing live checks of
// MTA-STS domains: a DNS server answering from fixed records, a test CA
// issuing certificates, an HTTPS server choosing a certificate by SNI, an
// SMTP server with optional STARTTLS, and a Dialer that routes the names a
// check dials to those servers. Nothing here touches global state or the
// network beyond 127.0.0.1.
package checktest
