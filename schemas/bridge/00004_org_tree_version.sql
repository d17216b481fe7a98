-- +goose Up
-- The organisation tree's version. Every transaction that changes bridge.org_tree raises it, so a sorter that
-- keeps the tree in memory can tell, once it holds the locks on the paths it walks, whether its copy is current.
CREATE TABLE bridge.org_tree_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO bridge.org_tree_version (version) VALUES (0);

-- +goose Down
DROP TABLE bridge.org_tree_version;
