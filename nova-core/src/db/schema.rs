//! The schema of the compute database, one list of migrations for both
//! backends: plain SQL types (TEXT, BIGINT) that SQLite and PostgreSQL
//! both accept. Records live in JSON `body` columns; the other columns are
//! what queries filter, sort, lock or constrain on. Times are microseconds
//! since the epoch, addresses are IPv4 addresses as integers.

/// The component name in PostgreSQL's `schema_version`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) const COMPONENT: &str = "nova";

/// Each entry moves the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    host TEXT,
    status TEXT NOT NULL,
    task_state TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX instances_project ON instances (project_id, created_at);
CREATE INDEX instances_host ON instances (host);
CREATE INDEX instances_order ON instances (created_at, id);
CREATE TABLE flavors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE key_pairs (
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
CREATE TABLE services (
    host TEXT PRIMARY KEY,
    heartbeat BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE fixed_ips (
    network_id TEXT NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    address BIGINT NOT NULL,
    instance_id TEXT,
    mac TEXT,
    PRIMARY KEY (network_id, address)
);
CREATE INDEX fixed_ips_free ON fixed_ips (network_id, instance_id, address);
CREATE INDEX fixed_ips_instance ON fixed_ips (instance_id);
CREATE TABLE floating_ips (
    id TEXT PRIMARY KEY,
    address BIGINT NOT NULL UNIQUE,
    pool TEXT NOT NULL,
    project_id TEXT,
    fixed_address BIGINT,
    instance_id TEXT
);
CREATE INDEX floating_ips_pool ON floating_ips (pool, project_id, address);
CREATE TABLE volumes (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX volumes_project ON volumes (project_id, created_at);
CREATE TABLE volume_attachments (
    volume_id TEXT PRIMARY KEY REFERENCES volumes (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL,
    device TEXT NOT NULL,
    attached_at BIGINT NOT NULL
);
CREATE INDEX volume_attachments_instance ON volume_attachments (instance_id);
CREATE TABLE quota_limits (
    project_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    hard_limit BIGINT,
    PRIMARY KEY (project_id, resource)
);
CREATE TABLE quota_usages (
    project_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    in_use BIGINT NOT NULL,
    reserved BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);
"#,
    // 2: boot requests (reservation id, launch index, idempotency token).
    r#"
ALTER TABLE instances ADD COLUMN reservation_id TEXT;
ALTER TABLE instances ADD COLUMN client_token TEXT;
ALTER TABLE instances ADD COLUMN launch_index BIGINT NOT NULL DEFAULT 0;
CREATE INDEX instances_reservation ON instances (reservation_id);
CREATE UNIQUE INDEX instances_client_token ON instances (project_id, client_token, launch_index);
"#,
    // 3: security groups and the EC2 id map (servers/nova's EC2 API).
    r#"
CREATE TABLE security_groups (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE instance_security_groups (
    instance_id TEXT NOT NULL,
    group_id TEXT NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (instance_id, group_id)
);
CREATE INDEX instance_security_groups_group ON instance_security_groups (group_id);
CREATE TABLE ec2_ids (
    kind TEXT NOT NULL,
    uuid TEXT NOT NULL,
    ec2_id TEXT NOT NULL,
    PRIMARY KEY (kind, uuid)
);
CREATE INDEX ec2_ids_ec2_id ON ec2_ids (ec2_id);
"#,
];
