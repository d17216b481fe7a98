package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/postgres"
)

// upstreamContract is the national platform's tables as the capture issue specifies them: names and types are a
// contract, so this list is written out here rather than derived from the DDL it checks.
var upstreamContract = map[string]string{
	"organization":     "parent_id text, name text, division_code text",
	"personnel":        "org_id text, name text, phone text",
	"dictionary":       "dict_type text, code text, label text, division_code text",
	"registration":     "reg_no text, kind smallint, registrar_id text, status text, handle_dept_id text, handler_id text, division_code text, summary text, registered_at timestamp with time zone",
	"info_provider":    "registration_id text, name text, phone text, id_card_no text, address text",
	"subject":          "registration_id text, name text, uscc text, business_division_code text, address text",
	"object":           "registration_id text, category text, name text, brand text, amount numeric",
	"initial_feedback": "registration_id text, dept_id text, handler_id text, result text, content text, feedback_at timestamp with time zone",
	"final_feedback":   "registration_id text, dept_id text, handler_id text, result text, recovered_amount numeric, content text, finished_at timestamp with time zone",
	"mediation":        "registration_id text, dept_id text, result text, mediated_at timestamp with time zone",
	"case_info":        "registration_id text, case_no text, filing_org_id text, filed_at timestamp with time zone",
	"supervision":      "registration_id text, supervising_org_id text, supervised_org_id text, deadline timestamp with time zone, content text",
}

func TestReferenceUpstreamHasExactlyTheContractColumns(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range 2 { // idempotent
		if err := postgres.MigrateUpstream(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	for table, cols := range upstreamContract {
		want := append([]string{"id text NO", "update_time timestamp with time zone NO", "is_deleted boolean NO"}, withNullable(cols)...)
		rows, err := db.Query(ctx, `SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, table)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var c string
			_ = rows.Scan(&c)
			got = append(got, c)
		}
		rows.Close()
		if !slices.Equal(got, want) {
			t.Errorf("%s columns:\n got %v\nwant %v", table, got, want)
		}
	}
	var amount string
	if err := db.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'object'::regclass AND attname = 'amount'`).Scan(&amount); err != nil || amount != "numeric(14,2)" {
		t.Errorf("object.amount is %q (%v), want numeric(14,2)", amount, err)
	}
}

func withNullable(cols string) []string {
	var out []string
	for _, c := range strings.Split(cols, ", ") {
		out = append(out, c+" YES")
	}
	return out
}
