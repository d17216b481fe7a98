// Package events defines what flows through the bridge: the catalogue of the twelve national record kinds and
// the wire names (topics, headers, event types) of the events about them. It imports nothing of ours.
package events
