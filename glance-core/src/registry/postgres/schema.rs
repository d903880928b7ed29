//! PostgreSQL schema of the image registry, applied in order by
//! [`sql_support::pg::PgPool::migrate`] under the component name
//! [`COMPONENT`].
//!
//! Every column a listing filters or sorts on is a column of its own, text
//! sorting bytewise (`COLLATE "C"`) as the other backends do; the whole
//! record is kept as JSON in `body`.

/// The component name in `schema_version`.
pub(crate) const COMPONENT: &str = "glance";

/// Each entry moves the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE images (
    id TEXT COLLATE "C" PRIMARY KEY,
    status TEXT COLLATE "C" NOT NULL,
    visibility TEXT COLLATE "C" NOT NULL,
    os_hidden BOOLEAN NOT NULL,
    owner TEXT COLLATE "C",
    name TEXT COLLATE "C",
    disk_format TEXT COLLATE "C",
    container_format TEXT COLLATE "C",
    size BIGINT,
    min_disk BIGINT NOT NULL,
    min_ram BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    tags TEXT[] NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX images_owner ON images (owner);
CREATE INDEX images_created_at ON images (created_at, id);
CREATE INDEX images_tags ON images USING GIN (tags);
CREATE TABLE image_members (
    image_id TEXT COLLATE "C" NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    member TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, member)
);
CREATE INDEX image_members_member ON image_members (member);
"#];
