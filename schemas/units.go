package schemas

import _ "embed" // for the []byte embed below; embed.go imports the package for its embed.FS vars

// Units is the default unit catalogue: Wuhan's distribution units and the organisations and division codes
// that belong to each. handlers/jurisdiction parses and validates it.
//
//go:embed units.yaml
var Units []byte
