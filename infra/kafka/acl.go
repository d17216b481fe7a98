package kafka

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/IBM/sarama"

	"hotline-bridge/handlers/access"
)

// scramIterations is what a unit credential is salted with: above Kafka's minimum of 4096.
const scramIterations = 8192

// ACLAdmin reads and changes the broker's ACLs and SCRAM credentials, as the bridge's principal (a super user).
type ACLAdmin struct {
	cfg   Config
	admin sarama.ClusterAdmin
}

// NewACLAdmin connects.
func NewACLAdmin(cfg Config) (*ACLAdmin, error) {
	sc, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return nil, cfg.explain(fmt.Errorf("connect admin to %v: %w", cfg.Brokers, err))
	}
	return &ACLAdmin{cfg: cfg, admin: admin}, nil
}

// Close disconnects.
func (a *ACLAdmin) Close() error { return a.admin.Close() }

// Rules lists every ACL on the broker.
func (a *ACLAdmin) Rules() ([]access.Rule, error) {
	resources, err := a.admin.ListAcls(sarama.AclFilter{
		ResourceType: sarama.AclResourceAny, ResourcePatternTypeFilter: sarama.AclPatternAny,
		Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny,
	})
	if err != nil {
		return nil, a.cfg.explain(fmt.Errorf("list ACLs: %w", err))
	}
	var rules []access.Rule
	for _, res := range resources {
		for _, acl := range res.Acls {
			rules = append(rules, access.Rule{
				Principal: acl.Principal, Resource: res.ResourceType.String(), Pattern: res.ResourcePatternType.String(),
				Name: res.ResourceName, Operation: acl.Operation.String(), Permission: acl.PermissionType.String(), Host: acl.Host,
			})
		}
	}
	return rules, nil
}

// Create adds rules.
func (a *ACLAdmin) Create(rules []access.Rule) error {
	if len(rules) == 0 {
		return nil
	}
	var bindings []*sarama.ResourceAcls
	for _, r := range rules {
		res, acl, err := binding(r)
		if err != nil {
			return err
		}
		bindings = append(bindings, &sarama.ResourceAcls{Resource: res, Acls: []*sarama.Acl{&acl}})
	}
	if err := a.admin.CreateACLs(bindings); err != nil {
		return a.cfg.explain(fmt.Errorf("create %d ACLs: %w", len(rules), err))
	}
	return nil
}

// Delete removes rules, each by an exact filter, so nothing else goes with them.
func (a *ACLAdmin) Delete(rules []access.Rule) error {
	for _, r := range rules {
		res, acl, err := binding(r)
		if err != nil {
			return err
		}
		filter := sarama.AclFilter{
			ResourceType: res.ResourceType, ResourceName: &res.ResourceName, ResourcePatternTypeFilter: res.ResourcePatternType,
			Principal: &acl.Principal, Host: &acl.Host, Operation: acl.Operation, PermissionType: acl.PermissionType,
		}
		if _, err := a.admin.DeleteACL(filter, false); err != nil {
			return a.cfg.explain(fmt.Errorf("delete ACL %s: %w", r, err))
		}
	}
	return nil
}

func binding(r access.Rule) (sarama.Resource, sarama.Acl, error) {
	var (
		res sarama.Resource
		acl = sarama.Acl{Principal: r.Principal, Host: r.Host}
	)
	res.ResourceName = r.Name
	err := errors.Join(
		res.ResourceType.UnmarshalText([]byte(strings.ToLower(r.Resource))),
		res.ResourcePatternType.UnmarshalText([]byte(strings.ToLower(r.Pattern))),
		acl.Operation.UnmarshalText([]byte(strings.ToLower(r.Operation))),
		acl.PermissionType.UnmarshalText([]byte(strings.ToLower(r.Permission))),
	)
	if err != nil {
		return res, acl, fmt.Errorf("ACL %s: %w", r, err)
	}
	return res, acl, nil
}

// Users lists the users with SCRAM credentials, and each one's mechanisms.
func (a *ACLAdmin) Users() (map[string][]string, error) {
	results, err := a.admin.DescribeUserScramCredentials(nil)
	if err != nil {
		return nil, a.cfg.explain(fmt.Errorf("describe SCRAM users: %w", err))
	}
	users := map[string][]string{}
	for _, r := range results {
		if r.ErrorCode != sarama.ErrNoError {
			continue // a user without credentials
		}
		for _, info := range r.CredentialInfos {
			users[r.User] = append(users[r.User], info.Mechanism.String())
		}
		slices.Sort(users[r.User])
	}
	return users, nil
}

// SetPassword gives user the password for mechanism; an old one stops working.
func (a *ACLAdmin) SetPassword(user, mechanism, password string) error {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	results, err := a.admin.UpsertUserScramCredentials([]sarama.AlterUserScramCredentialsUpsert{{
		Name: user, Mechanism: scramMechanism(mechanism), Iterations: scramIterations, Salt: salt, Password: []byte(password),
	}})
	if err == nil {
		err = resultError(results)
	}
	if err != nil {
		return a.cfg.explain(fmt.Errorf("set SCRAM credentials of %s: %w", user, err))
	}
	return nil
}

// RemoveUser deletes every SCRAM credential of user.
func (a *ACLAdmin) RemoveUser(user string, mechanisms []string) error {
	var deletions []sarama.AlterUserScramCredentialsDelete
	for _, m := range mechanisms {
		deletions = append(deletions, sarama.AlterUserScramCredentialsDelete{Name: user, Mechanism: scramMechanism(m)})
	}
	results, err := a.admin.DeleteUserScramCredentials(deletions)
	if err == nil {
		err = resultError(results)
	}
	if err != nil {
		return a.cfg.explain(fmt.Errorf("delete SCRAM credentials of %s: %w", user, err))
	}
	return nil
}

func scramMechanism(name string) sarama.ScramMechanismType {
	if name == SCRAMSHA256 {
		return sarama.SCRAM_MECHANISM_SHA_256
	}
	return sarama.SCRAM_MECHANISM_SHA_512
}

func resultError(results []*sarama.AlterUserScramCredentialsResult) error {
	var errs []error
	for _, r := range results {
		if r.ErrorCode != sarama.ErrNoError {
			msg := ""
			if r.ErrorMessage != nil {
				msg = ": " + *r.ErrorMessage
			}
			errs = append(errs, fmt.Errorf("%s: %w%s", r.User, r.ErrorCode, msg))
		}
	}
	return errors.Join(errs...)
}
