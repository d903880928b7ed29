//! PostgreSQL schema of the identity tables, applied in order by
//! [`sql_support::pg::PgPool::migrate`] under the component name
//! [`COMPONENT`]. Mirrors the SQLite schema; text keys sort bytewise
//! (`COLLATE "C"`) so lists order as in the other backends.

/// The component name in `schema_version`.
pub(crate) const COMPONENT: &str = "identity";

/// Each entry moves the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE domains (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL
);
CREATE TABLE projects (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    domain_id TEXT COLLATE "C" NOT NULL REFERENCES domains (id),
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    UNIQUE (domain_id, name)
);
CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    domain_id TEXT COLLATE "C" NOT NULL REFERENCES domains (id),
    enabled BOOLEAN NOT NULL,
    password_hash TEXT,
    UNIQUE (domain_id, name)
);
CREATE TABLE roles (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE
);
CREATE TABLE role_assignments (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    target_kind TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL,
    role_id TEXT COLLATE "C" NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, target_kind, target_id, role_id)
);
CREATE INDEX role_assignments_target ON role_assignments (target_kind, target_id);
CREATE TABLE ec2_credentials (
    access TEXT COLLATE "C" PRIMARY KEY,
    secret TEXT NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id)
);
CREATE INDEX ec2_credentials_user ON ec2_credentials (user_id);
CREATE TABLE tokens (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
CREATE INDEX tokens_user ON tokens (user_id);
"#,
    r#"
ALTER TABLE users ADD COLUMN default_project_id TEXT COLLATE "C";
ALTER TABLE roles ADD COLUMN description TEXT;
"#,
];
