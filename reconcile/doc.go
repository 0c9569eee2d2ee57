// Package reconcile is the pure core of mtasts-sync: it turns what we want
// (Spec: the record kinds, the layout, each Domain) and what a zone holds
// (live records) into a plan, and applies a plan through a small Zone
// interface. It does no I/O of its own.
//
// The contract:
//
//   - Record kinds are data (Kind, kinds.go): the diff, the DNS shortcut's
//     queries (Spec.Queries) and saved plans work over them. A new kind is
//     one Kind value appended to Spec.Kinds where the engine builds them
//     (engine.kinds); nothing else here changes.
//   - Records enter one canonical form once (Ingest for a provider's
//     records, Canonical otherwise) and are compared one way (Same).
//   - PlanZone only looks at the names of the kinds; every other record of
//     a zone is left alone, and foreign records at our names are kept.
//   - Rules that take work out of a plan are pure filters over a finished
//     plan (Withhold); they never add work.
//   - Apply writes a zone plan's changes in order, stops at the first
//     failure, and reads the zone back to check every write took.
//   - A ZonePlan carries what it was made from at the names it writes
//     (Seen), so a saved plan can tell when the zone moved (Fingerprint,
//     ZonePlan.After).
package reconcile
