-- +goose Up
-- The organisation tree's version. Every transaction that changes bridge.org_tree raises it, so a sorter that
-- keeps the tree in memory can tell, once it holds the locks on the paths it walks, whether its copy is current.
CREATE TABLE bridge.org_tree_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO bridge.org_tree_version (version) VALUES (0);

-- When a ledger entry was last written: an entry of a row that is not Wuhan's, of a kind nothing depends on,
-- only matters while an older version of the row may still be delivered, and is pruned after the retention.
ALTER TABLE bridge.row_state ADD COLUMN decided_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX row_state_prunable_idx ON bridge.row_state (decided_at) WHERE decided AND unit_code IS NULL;

-- +goose Down
DROP INDEX bridge.row_state_prunable_idx;
ALTER TABLE bridge.row_state DROP COLUMN decided_at;
DROP TABLE bridge.org_tree_version;
