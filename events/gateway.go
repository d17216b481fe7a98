package events

// Event types of the sign-for and feedback gateway. Each accepted request becomes one event on the unit's topic
// and one on the upstream topic, for delivery to the national platform. They are notices, not row changes: the
// row they speak of changes when the national platform takes them and the bridge captures it.
const (
	EventRegistrationSigned       = "registration.signed"
	EventInitialFeedbackSubmitted = "initial_feedback.submitted"
	EventFinalFeedbackSubmitted   = "final_feedback.submitted"
)

// Changes of the gateway's event types, beside upserted, deleted and removed.
const (
	EventSigned    = "signed"
	EventSubmitted = "submitted"
)

// UpstreamUnit is the pseudo-unit of the events bound for the national platform: their unit_code in the outbox,
// and the last part of their topic, UnitTopic(prefix, UpstreamUnit).
const UpstreamUnit = "upstream"

// GatewayTable is the outbox table name of gateway events: each request is a "row" of its own, so the delivery
// check and replays of the store's tables never take a notice for a row's state.
const GatewayTable = "gateway_request"

// Hops of the gateway, beside the sorter's and the forwarder's.
const (
	HopAccepted  = "accepted"  // a request kept with its outbound events
	HopConfirmed = "confirmed" // the captured national rows reflect it
)
