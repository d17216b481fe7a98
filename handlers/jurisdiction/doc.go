// Package jurisdiction decides which Wuhan unit (district, functional zone or the city bureau) handles a row
// of the national platform, or that the row is not Wuhan's, or that it cannot be decided until a parent row
// arrives. It is pure decision logic: the unit catalogue is data (schemas/units.yaml), the deciding columns
// come from events.Catalogue, and the organisation tree and registrations are read through small interfaces
// the caller implements.
//
// Jurisdiction is read from the handling organisation, walking the organisation tree, rather than from
// addresses (SAMR Order 20, Arts. 12, 25, 37): functional zones have no GB/T 2260 code, so they can only be
// recognised by their bureau's organisation id.
package jurisdiction
