// Package mtasts models the DNS and HTTPS artefacts of MTA-STS (RFC 8461) and
// SMTP TLS Reporting (RFC 8460): the policy file served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt, the `_mta-sts` TXT record
// that announces it, and the `_smtp._tls` TXT record that says where TLS
// reports go.
//
// Every parser follows the RFC grammar (with errata 6253 and 6285) and returns
// the parsed value, warnings (human sentences about things that are legal but
// that a sender or a person would trip over) and an error that says what to
// change. Nothing here does I/O.
//
// # Policy id
//
// The `id` of the `_mta-sts` record only has to change whenever the policy
// changes (RFC 8461 §3.1); ids have no order. Rather than keep a counter or a
// timestamp in some state file, the id is derived from the policy itself:
// the policy is normalised (mx patterns lower-cased, deduplicated and sorted,
// so reordering the config changes nothing), rendered exactly as it is served
// (CRLF line ends), and the id is the first 20 lower-case hex digits of the
// SHA-256 of those bytes. Two machines with the same policy therefore agree on
// the id, a no-op run changes nothing, and any edit of mode, max_age or the mx
// set yields a new id. For a policy file written by this program,
// `sha256sum mta-sts.txt | cut -c1-20` reproduces the id. Twenty hex digits
// fit the 1*32(ALPHA / DIGIT) grammar of the record and make an accidental
// collision between two different policies of one domain practically
// impossible.
package mtasts
