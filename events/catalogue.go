package events

// Kind describes one of the national platform's twelve record kinds (分拣服务 1–12). Everything that differs
// between kinds is data here; capture, sorting, storage and distribution walk this catalogue generically.
type Kind struct {
	Seq     int    // the procurement text's item number, 1–12
	Table   string // upstream table name; also the wire name in topics and event types
	Title   string // Chinese name as the bureau uses it
	English string

	// Jurisdiction: which column decides the row's unit. OrgColumn names an organisation whose unit the row
	// takes; RegistrationColumn names the work order whose unit the row takes (a fallback when OrgColumn is
	// also set and empty); DivisionColumn is the last resort, a GB/T 2260 code matched against units directly.
	OrgColumn          string
	RegistrationColumn string
	DivisionColumn     string
	// Broadcast kinds go to every unit (the data dictionary) when Wuhan's or national.
	Broadcast bool

	// The roles a kind plays in other kinds' jurisdiction; exactly one kind plays each. OrgTree: its rows are
	// the organisation tree that every OrgColumn walks. WorkOrder: its rows are the work orders every
	// RegistrationColumn names. The sorter keeps the verdict on every such row, Wuhan's or not, so dependants
	// decide without asking upstream, and a change of such a row's unit carries its dependants along.
	OrgTree   bool
	WorkOrder bool

	// Personal lists columns holding complainants' or staff's personal data. Nothing the bridge logs carries row
	// content at all; this list is for what must show rows without these columns (inspection, reports, audit).
	Personal []string
}

// Wire names of the kinds. They are part of topic names and event types: never rename one.
const (
	Organization    = "organization"
	Personnel       = "personnel"
	Dictionary      = "dictionary"
	Registration    = "registration"
	InfoProvider    = "info_provider"
	Subject         = "subject"
	Object          = "object"
	InitialFeedback = "initial_feedback"
	FinalFeedback   = "final_feedback"
	Mediation       = "mediation"
	CaseInfo        = "case_info"
	Supervision     = "supervision"
)

// Catalogue lists the twelve kinds in dependency order: organisations before what refers to them, registrations
// before their families.
var Catalogue = []Kind{
	{Seq: 10, Table: Organization, Title: "机构信息", English: "organisation", OrgColumn: "id", OrgTree: true},
	{Seq: 11, Table: Personnel, Title: "人员信息", English: "personnel", OrgColumn: "org_id", Personal: []string{"name", "phone"}},
	{Seq: 12, Table: Dictionary, Title: "数据字典", English: "data dictionary", DivisionColumn: "division_code", Broadcast: true},
	{Seq: 1, Table: Registration, Title: "登记信息", English: "registration", OrgColumn: "handle_dept_id", DivisionColumn: "division_code",
		WorkOrder: true},
	{Seq: 2, Table: InfoProvider, Title: "信息提供方信息", English: "info provider", RegistrationColumn: "registration_id",
		Personal: []string{"name", "phone", "id_card_no", "address"}},
	{Seq: 3, Table: Subject, Title: "涉及主体信息", English: "involved subject", RegistrationColumn: "registration_id"},
	{Seq: 4, Table: Object, Title: "涉及客体信息", English: "involved object", RegistrationColumn: "registration_id"},
	{Seq: 5, Table: InitialFeedback, Title: "初查反馈信息", English: "initial-check feedback", RegistrationColumn: "registration_id"},
	{Seq: 6, Table: FinalFeedback, Title: "办结反馈信息", English: "completion feedback", RegistrationColumn: "registration_id"},
	{Seq: 7, Table: Mediation, Title: "调解信息", English: "mediation", RegistrationColumn: "registration_id"},
	{Seq: 8, Table: CaseInfo, Title: "案件信息", English: "case", OrgColumn: "filing_org_id", RegistrationColumn: "registration_id"},
	{Seq: 9, Table: Supervision, Title: "督办信息", English: "supervision", OrgColumn: "supervised_org_id", RegistrationColumn: "registration_id"},
}

// OrgTreeKind is the kind whose rows form the organisation tree; WorkOrderKind the kind of the work orders.
var OrgTreeKind, WorkOrderKind = roleKind(func(k Kind) bool { return k.OrgTree }), roleKind(func(k Kind) bool { return k.WorkOrder })

// Parent is a kind whose rows others depend on for their jurisdiction.
func (k Kind) Parent() bool { return k.OrgTree || k.WorkOrder }

// FollowsWorkOrder is a kind whose rows take their work order's unit and nothing else: no column of their own
// decides, and nothing depends on them. Such a row that is not Wuhan's says nothing the work order's ledger
// entry does not already say, so the sorter keeps no ledger entry for it unless it is or was Wuhan's, and
// source reconciliation compares such kinds by the families the ledger places in Wuhan.
func (k Kind) FollowsWorkOrder() bool {
	return k.RegistrationColumn != "" && k.OrgColumn == "" && k.DivisionColumn == "" && !k.Broadcast && !k.Parent()
}

func roleKind(plays func(Kind) bool) Kind {
	for _, k := range Catalogue {
		if plays(k) {
			return k
		}
	}
	panic("events: no kind in the catalogue plays this role")
}

// KindByTable returns the catalogue entry of an upstream table.
func KindByTable(table string) (Kind, bool) {
	for _, k := range Catalogue {
		if k.Table == table {
			return k, true
		}
	}
	return Kind{}, false
}

// BroadcastUnit is the pseudo-unit of rows that go to every unit (the data dictionary): their unit_code in the
// dedicated store and the suffix of their topic.
const BroadcastUnit = "broadcast"

// Distribution event types, the suffix of ce_type after "<table>.".
const (
	EventUpserted = "upserted" // the row is new or changed in this unit
	EventDeleted  = "deleted"  // soft-deleted upstream; it stays in the store with is_deleted = true
	EventRemoved  = "removed"  // it no longer belongs to this unit
)
