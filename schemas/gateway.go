package schemas

import "embed"

// Gateway holds the sign-for and feedback gateway's contract: gateway/openapi.yaml, the OpenAPI 3.1 document the
// server validates every request against, and gateway/<event type>.schema.json, the JSON Schemas (2020-12) of the
// events an accepted request publishes to its unit's topic and to the upstream topic.
//
//go:embed gateway/*.yaml gateway/*.json
var Gateway embed.FS

// GatewayOpenAPI is the file in Gateway holding the OpenAPI document.
const GatewayOpenAPI = "gateway/openapi.yaml"

// GatewayEventSchema is the file in Gateway describing the payload of a gateway event type such as
// "registration.signed".
func GatewayEventSchema(eventType string) string { return "gateway/" + eventType + ".schema.json" }
