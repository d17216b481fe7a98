// Package gateway is the sign-for and feedback gateway: an HTTP API through which a unit's clerks, or the 12345
// hotline on a unit's behalf, sign for (签收) Wuhan's 12315 work orders and give their initial-check and
// completion feedback, flowing back toward the national platform.
//
// The API is schemas/gateway/openapi.yaml: every route the server answers is an operation of that document, and
// every request is validated against it before a handler sees it. The decisions — who may act on which work
// order, idempotency, what an accepted request becomes — live here; the store (infra/postgres) keeps an accepted
// request with its outbound events and its audit hop in one transaction, and the distribution forwarder
// publishes the events to the unit's topic and to the upstream topic.
package gateway
