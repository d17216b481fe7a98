package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"hotline-bridge/handlers/access"
	"hotline-bridge/infra/kafka"
)

// ACLOptions are bridge acl apply's flags.
type ACLOptions struct {
	DryRun         bool
	CredentialsDir string   // where new credentials are written; required when any are made
	Rotate         []string // units whose credentials are replaced
}

// aclAdmin is what provisioning needs of the broker.
type aclAdmin interface {
	Rules() ([]access.Rule, error)
	Create([]access.Rule) error
	Delete([]access.Rule) error
	Users() (map[string][]string, error)
	SetPassword(user, mechanism, password string) error
	RemoveUser(user string, mechanisms []string) error
}

// ApplyACLs provisions a principal per unit of the catalogue with its ACLs, removes those of units no longer in
// it, and writes new credentials to opts.CredentialsDir. It prints the plan (never a password); a dry run stops
// there.
func ApplyACLs(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, opts ACLOptions) error {
	units, err := cfg.units()
	if err != nil {
		return err
	}
	codes := units.Codes()
	for _, unit := range opts.Rotate {
		if !slices.Contains(codes, unit) {
			return fmt.Errorf("--rotate: %q is not a unit of the catalogue", unit)
		}
	}
	admin, err := kafka.NewACLAdmin(cfg.kafka())
	if err != nil {
		return err
	}
	defer admin.Close()
	plan, users, err := planACLs(admin, cfg.TopicPrefix, codes, opts.Rotate)
	if err != nil {
		return err
	}
	printPlan(out, plan, opts.DryRun)
	if opts.DryRun || plan.Empty() {
		return nil
	}
	if len(plan.NewUsers) > 0 && opts.CredentialsDir == "" {
		return fmt.Errorf("%d units need new credentials (%v): give --credentials-dir DIR to receive them", len(plan.NewUsers), plan.NewUsers)
	}
	if err := applyPlan(admin, cfg, plan, users, opts.CredentialsDir); err != nil {
		return err
	}
	log.Info("ACLs applied", "created", len(plan.Create), "deleted", len(plan.Delete), "credentials", len(plan.NewUsers),
		"users_removed", len(plan.RemoveUsers))
	return nil
}

func planACLs(admin aclAdmin, prefix string, codes, rotate []string) (access.Plan, map[string][]string, error) {
	existing, err := admin.Rules()
	if err != nil {
		return access.Plan{}, nil, err
	}
	users, err := admin.Users()
	if err != nil {
		return access.Plan{}, nil, err
	}
	plan := access.NewPlan(access.Desired(prefix, codes), existing, codes, slices.Sorted(maps.Keys(users)), rotate)
	return plan, users, nil
}

// applyPlan writes each new credential's files before the broker gets it, so a failure never leaves a password
// on the broker that nobody holds; then it adds the missing ACLs and removes what no unit needs.
func applyPlan(admin aclAdmin, cfg Config, plan access.Plan, users map[string][]string, dir string) error {
	for _, unit := range plan.NewUsers {
		password, err := newPassword()
		if err != nil {
			return err
		}
		creds := credentials{unit: unit, user: access.User(unit), password: password, cfg: cfg}
		if err := creds.write(dir); err != nil {
			return err
		}
		if err := admin.SetPassword(creds.user, cfg.SASLMechanism, password); err != nil {
			return err
		}
	}
	if err := admin.Create(plan.Create); err != nil {
		return err
	}
	if err := admin.Delete(plan.Delete); err != nil {
		return err
	}
	var errs []error
	for _, user := range plan.RemoveUsers {
		errs = append(errs, admin.RemoveUser(user, users[user]))
	}
	return errors.Join(errs...)
}

func newPassword() (string, error) {
	var secret [24]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", fmt.Errorf("generate a password: %w", err)
	}
	return hex.EncodeToString(secret[:]), nil
}

func printPlan(out io.Writer, plan access.Plan, dryRun bool) {
	for _, r := range plan.Create {
		fmt.Fprintf(out, "create  %s\n", r)
	}
	for _, r := range plan.Delete {
		fmt.Fprintf(out, "delete  %s\n", r)
	}
	for _, unit := range plan.NewUsers {
		what := "new credentials"
		if slices.Contains(plan.Rotated, unit) {
			what = "rotate credentials"
		}
		fmt.Fprintf(out, "user    %s  %s\n", access.User(unit), what)
	}
	for _, user := range plan.RemoveUsers {
		fmt.Fprintf(out, "user    %s  remove (its unit left the catalogue)\n", user)
	}
	verdict := "applied"
	switch {
	case plan.Empty():
		verdict = "nothing to change"
	case dryRun:
		verdict = "dry run: nothing changed"
	}
	fmt.Fprintf(out, "%d ACLs in force, %d to create, %d to delete; %d credentials to issue, %d users to remove: %s\n",
		plan.Kept, len(plan.Create), len(plan.Delete), len(plan.NewUsers), len(plan.RemoveUsers), verdict)
}

// ListACLs prints every ACL on the broker and every SCRAM user with its mechanisms (never a secret).
func ListACLs(ctx context.Context, cfg Config, out io.Writer) error {
	admin, err := kafka.NewACLAdmin(cfg.kafka())
	if err != nil {
		return err
	}
	defer admin.Close()
	rules, err := admin.Rules()
	if err != nil {
		return err
	}
	users, err := admin.Users()
	if err != nil {
		return err
	}
	slices.SortFunc(rules, func(a, b access.Rule) int { return strings.Compare(a.String(), b.String()) })
	for _, r := range rules {
		fmt.Fprintf(out, "acl   %s\n", r)
	}
	for _, user := range slices.Sorted(maps.Keys(users)) {
		fmt.Fprintf(out, "user  %s  %v\n", user, users[user])
	}
	fmt.Fprintf(out, "%d ACLs, %d SCRAM users\n", len(rules), len(users))
	return nil
}
