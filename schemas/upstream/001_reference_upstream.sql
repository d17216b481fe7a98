-- The reference upstream: the national 12315 platform's tables as the bridge reads them.
-- Table and column names are a contract with the national platform; keep them exactly.
-- The real upstream enforces no foreign keys, so neither does this copy.
-- Each table has an (update_time, id) index because incremental capture pages on that key.

CREATE TABLE IF NOT EXISTS organization (
    id            text PRIMARY KEY,
    update_time   timestamptz NOT NULL,
    is_deleted    boolean NOT NULL DEFAULT false,
    parent_id     text,
    name          text,
    division_code text
);

CREATE TABLE IF NOT EXISTS personnel (
    id          text PRIMARY KEY,
    update_time timestamptz NOT NULL,
    is_deleted  boolean NOT NULL DEFAULT false,
    org_id      text,
    name        text,
    phone       text
);

CREATE TABLE IF NOT EXISTS dictionary (
    id            text PRIMARY KEY,
    update_time   timestamptz NOT NULL,
    is_deleted    boolean NOT NULL DEFAULT false,
    dict_type     text,
    code          text,
    label         text,
    division_code text
);

CREATE TABLE IF NOT EXISTS registration (
    id             text PRIMARY KEY,
    update_time    timestamptz NOT NULL,
    is_deleted     boolean NOT NULL DEFAULT false,
    reg_no         text UNIQUE,
    kind           smallint,
    registrar_id   text,
    status         text,
    handle_dept_id text,
    handler_id     text,
    division_code  text,
    summary        text,
    registered_at  timestamptz
);

CREATE TABLE IF NOT EXISTS info_provider (
    id              text PRIMARY KEY,
    update_time     timestamptz NOT NULL,
    is_deleted      boolean NOT NULL DEFAULT false,
    registration_id text,
    name            text,
    phone           text,
    id_card_no      text,
    address         text
);

CREATE TABLE IF NOT EXISTS subject (
    id                     text PRIMARY KEY,
    update_time            timestamptz NOT NULL,
    is_deleted             boolean NOT NULL DEFAULT false,
    registration_id        text,
    name                   text,
    uscc                   text,
    business_division_code text,
    address                text
);

CREATE TABLE IF NOT EXISTS object (
    id              text PRIMARY KEY,
    update_time     timestamptz NOT NULL,
    is_deleted      boolean NOT NULL DEFAULT false,
    registration_id text,
    category        text,
    name            text,
    brand           text,
    amount          numeric(14,2)
);

CREATE TABLE IF NOT EXISTS initial_feedback (
    id              text PRIMARY KEY,
    update_time     timestamptz NOT NULL,
    is_deleted      boolean NOT NULL DEFAULT false,
    registration_id text,
    dept_id         text,
    handler_id      text,
    result          text,
    content         text,
    feedback_at     timestamptz
);

CREATE TABLE IF NOT EXISTS final_feedback (
    id               text PRIMARY KEY,
    update_time      timestamptz NOT NULL,
    is_deleted       boolean NOT NULL DEFAULT false,
    registration_id  text,
    dept_id          text,
    handler_id       text,
    result           text,
    recovered_amount numeric(14,2),
    content          text,
    finished_at      timestamptz
);

CREATE TABLE IF NOT EXISTS mediation (
    id              text PRIMARY KEY,
    update_time     timestamptz NOT NULL,
    is_deleted      boolean NOT NULL DEFAULT false,
    registration_id text,
    dept_id         text,
    result          text,
    mediated_at     timestamptz
);

CREATE TABLE IF NOT EXISTS case_info (
    id              text PRIMARY KEY,
    update_time     timestamptz NOT NULL,
    is_deleted      boolean NOT NULL DEFAULT false,
    registration_id text,
    case_no         text,
    filing_org_id   text,
    filed_at        timestamptz
);

CREATE TABLE IF NOT EXISTS supervision (
    id                 text PRIMARY KEY,
    update_time        timestamptz NOT NULL,
    is_deleted         boolean NOT NULL DEFAULT false,
    registration_id    text,
    supervising_org_id text,
    supervised_org_id  text,
    deadline           timestamptz,
    content            text
);

CREATE INDEX IF NOT EXISTS organization_capture_idx     ON organization (update_time, id);
CREATE INDEX IF NOT EXISTS personnel_capture_idx        ON personnel (update_time, id);
CREATE INDEX IF NOT EXISTS dictionary_capture_idx       ON dictionary (update_time, id);
CREATE INDEX IF NOT EXISTS registration_capture_idx     ON registration (update_time, id);
CREATE INDEX IF NOT EXISTS info_provider_capture_idx    ON info_provider (update_time, id);
CREATE INDEX IF NOT EXISTS subject_capture_idx          ON subject (update_time, id);
CREATE INDEX IF NOT EXISTS object_capture_idx           ON object (update_time, id);
CREATE INDEX IF NOT EXISTS initial_feedback_capture_idx ON initial_feedback (update_time, id);
CREATE INDEX IF NOT EXISTS final_feedback_capture_idx   ON final_feedback (update_time, id);
CREATE INDEX IF NOT EXISTS mediation_capture_idx        ON mediation (update_time, id);
CREATE INDEX IF NOT EXISTS case_info_capture_idx        ON case_info (update_time, id);
CREATE INDEX IF NOT EXISTS supervision_capture_idx      ON supervision (update_time, id);

-- Lookups by parent, used when a family or an organisation's dependants move between units.
CREATE INDEX IF NOT EXISTS organization_parent_idx      ON organization (parent_id);
CREATE INDEX IF NOT EXISTS personnel_org_idx            ON personnel (org_id);
CREATE INDEX IF NOT EXISTS registration_dept_idx        ON registration (handle_dept_id);
CREATE INDEX IF NOT EXISTS info_provider_reg_idx        ON info_provider (registration_id);
CREATE INDEX IF NOT EXISTS subject_reg_idx              ON subject (registration_id);
CREATE INDEX IF NOT EXISTS object_reg_idx               ON object (registration_id);
CREATE INDEX IF NOT EXISTS initial_feedback_reg_idx     ON initial_feedback (registration_id);
CREATE INDEX IF NOT EXISTS final_feedback_reg_idx       ON final_feedback (registration_id);
CREATE INDEX IF NOT EXISTS mediation_reg_idx            ON mediation (registration_id);
CREATE INDEX IF NOT EXISTS case_info_reg_idx            ON case_info (registration_id);
CREATE INDEX IF NOT EXISTS case_info_org_idx            ON case_info (filing_org_id);
CREATE INDEX IF NOT EXISTS supervision_reg_idx          ON supervision (registration_id);
CREATE INDEX IF NOT EXISTS supervision_org_idx          ON supervision (supervised_org_id);
