// Package access decides who may do what on the broker: one principal per unit, named unit-<code>, that may read
// and describe its own topic and the broadcast topic and use consumer groups named with its own prefix, and
// nothing else. Everything else is denied by the broker's default (allow.everyone.if.no.acl.found=false); only
// the bridge, a super user, writes. Plan compares that with what the broker holds, so applying it twice changes
// nothing and a unit gone from the catalogue loses its ACLs and credentials.
package access

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"hotline-bridge/events"
)

// UserPrefix starts every unit principal's user name; principals with other names are not this package's.
const UserPrefix = "unit-"

// User is the SCRAM user name of a unit.
func User(unit string) string { return UserPrefix + unit }

// Principal is the ACL principal of a unit.
func Principal(unit string) string { return "User:" + User(unit) }

// Rule is one ACL binding. Rules this package makes all allow, from any host.
type Rule struct {
	Principal  string
	Resource   string // Topic or Group
	Pattern    string // Literal or Prefixed
	Name       string
	Operation  string // Read, Describe, …
	Permission string // Allow or Deny
	Host       string
}

func (r Rule) String() string {
	return fmt.Sprintf("%s %s %s %s:%s %s:%s", r.Permission, r.Principal, r.Operation, r.Resource, r.Pattern, r.Name, r.Host)
}

func compare(a, b Rule) int {
	return cmp.Or(cmp.Compare(a.Principal, b.Principal), cmp.Compare(a.Resource, b.Resource),
		cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Operation, b.Operation),
		cmp.Compare(a.Permission, b.Permission), cmp.Compare(a.Host, b.Host))
}

// GroupPrefix is the prefix of the consumer groups a unit may use: "<topic prefix>.<unit>.".
func GroupPrefix(topicPrefix, unit string) string { return topicPrefix + "." + unit + "." }

// Desired is every rule the units need: READ and DESCRIBE on their own topic, on the broadcast topic, on the
// public keys topic and on their consumer groups.
func Desired(topicPrefix string, units []string) []Rule {
	var rules []Rule
	for _, unit := range units {
		allow := func(resource, pattern, name string) {
			for _, op := range []string{"Read", "Describe"} {
				rules = append(rules, Rule{Principal: Principal(unit), Resource: resource, Pattern: pattern,
					Name: name, Operation: op, Permission: "Allow", Host: "*"})
			}
		}
		allow("Topic", "Literal", events.UnitTopic(topicPrefix, unit))
		allow("Topic", "Literal", events.UnitTopic(topicPrefix, events.BroadcastUnit))
		allow("Topic", "Literal", events.KeysTopic(topicPrefix)) // the public keys, to verify signatures with
		allow("Group", "Prefixed", GroupPrefix(topicPrefix, unit))
	}
	slices.SortFunc(rules, compare)
	return rules
}

// Managed says whether a rule on the broker is one of a unit principal's, and so this package's to keep or remove.
func Managed(r Rule) bool { return strings.HasPrefix(r.Principal, "User:"+UserPrefix) }

// Plan is what applying the catalogue changes on the broker.
type Plan struct {
	Create, Delete []Rule
	// NewUsers get SCRAM credentials (they have none, or their rotation was asked for); Rotated says which of
	// them had some. RemoveUsers are unit users whose unit left the catalogue.
	NewUsers, Rotated, RemoveUsers []string
	Kept                           int // rules already in force
}

// Empty says whether the plan changes nothing.
func (p Plan) Empty() bool {
	return len(p.Create)+len(p.Delete)+len(p.NewUsers)+len(p.RemoveUsers) == 0
}

// NewPlan compares the desired rules and unit users with the broker's ACLs and SCRAM users (every one: rules and
// users not of unit principals are left alone). rotate names units whose credentials are replaced.
func NewPlan(desired, existing []Rule, units, users, rotate []string) Plan {
	var p Plan
	have := map[Rule]bool{}
	for _, r := range existing {
		if Managed(r) {
			have[r] = true
		}
	}
	for _, r := range desired {
		if have[r] {
			p.Kept++
			delete(have, r)
		} else {
			p.Create = append(p.Create, r)
		}
	}
	for r := range have {
		p.Delete = append(p.Delete, r)
	}
	slices.SortFunc(p.Delete, compare)
	for _, unit := range units {
		exists := slices.Contains(users, User(unit))
		switch {
		case !exists:
			p.NewUsers = append(p.NewUsers, unit)
		case slices.Contains(rotate, unit):
			p.NewUsers, p.Rotated = append(p.NewUsers, unit), append(p.Rotated, unit)
		}
	}
	for _, user := range users {
		unit, ok := strings.CutPrefix(user, UserPrefix)
		if ok && !slices.Contains(units, unit) {
			p.RemoveUsers = append(p.RemoveUsers, user)
		}
	}
	slices.Sort(p.RemoveUsers)
	return p
}
