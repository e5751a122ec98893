//! The database every test server works on, chosen by `KASSE_TEST_DATABASE`: `sqlite` (the
//! default: an in-memory database for a [`TestApp`], a file for a `Journey`) or `postgres` (a
//! fresh, empty database of its own, `kasse_<uuid>`, made in the PostgreSQL server whose admin URL
//! `KASSE_TEST_POSTGRES` names, and dropped when the test ends). The same tests run on either.
//!
//! `cargo xtask test` starts a throwaway PostgreSQL server and sets `KASSE_TEST_POSTGRES`; by hand:
//! `KASSE_TEST_DATABASE=postgres KASSE_TEST_POSTGRES=postgres://kasse@127.0.0.1:PORT/postgres
//! cargo test -p kasse-server --test api`. The tests of several instances on one database need
//! PostgreSQL whatever `KASSE_TEST_DATABASE` says, and are skipped (saying so) without a server.

use sqlx::Connection as _;

/// Chooses the database of the test servers: `sqlite` (or unset) or `postgres`.
pub(crate) const DATABASE_VARIABLE: &str = "KASSE_TEST_DATABASE";
/// The admin URL of the PostgreSQL server the tests may make databases in.
pub(crate) const POSTGRES_VARIABLE: &str = "KASSE_TEST_POSTGRES";

/// The kinds of database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// The database the test servers run on, as `KASSE_TEST_DATABASE` chooses; panics on a value it
/// does not know rather than quietly testing SQLite.
pub(crate) fn chosen() -> Kind {
    let Some(value) = std::env::var_os(DATABASE_VARIABLE) else { return Kind::Sqlite };
    let value = value.to_string_lossy();
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "sqlite" => Kind::Sqlite,
        "postgres" | "postgresql" => Kind::Postgres,
        _ => panic!("{DATABASE_VARIABLE}=\"{value}\" is neither `sqlite` nor `postgres`"),
    }
}

/// The admin URL of the tests' PostgreSQL server, if they have one.
pub(crate) fn postgres_admin() -> Option<String> {
    std::env::var(POSTGRES_VARIABLE).ok().filter(|url| !url.trim().is_empty())
}

/// A fresh PostgreSQL database when `KASSE_TEST_DATABASE=postgres`, else `None` (SQLite); panics
/// when PostgreSQL is chosen but no server is named.
pub(crate) async fn postgres_if_chosen() -> Option<PostgresDatabase> {
    if chosen() == Kind::Sqlite {
        return None;
    }
    let admin = postgres_admin().unwrap_or_else(|| {
        panic!(
            "{DATABASE_VARIABLE}=postgres, but {POSTGRES_VARIABLE} does not name a PostgreSQL server to \
             make the tests' databases in (its admin URL, like postgres://kasse@127.0.0.1:5432/postgres; \
             `cargo xtask test` starts one and sets it)"
        )
    });
    Some(PostgresDatabase::create(&admin).await)
}

/// An empty database made for one test in the tests' PostgreSQL server; dropped with this (its
/// connections ended first), so a run leaves nothing behind in the server.
pub(crate) struct PostgresDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    /// Makes `kasse_<uuid>` in the server `admin` (a superuser's URL) names.
    pub(crate) async fn create(admin: &str) -> Self {
        let name = format!("kasse_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the tests' PostgreSQL server at {admin}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create the database {name} at {admin}: {e}"));
        let _ = conn.close().await;
        let mut url = url::Url::parse(admin).unwrap_or_else(|e| panic!("{POSTGRES_VARIABLE}={admin}: {e}"));
        url.set_path(&name);
        Self { admin: admin.to_owned(), name, url: url.into() }
    }

    /// The database's URL, for a server's configuration.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for PostgresDatabase {
    /// Drops the database, ending whatever connections a server (in this process or a child
    /// still being killed) holds to it. On a thread of its own with a runtime of its own: a drop
    /// cannot wait on the test's runtime. A failure is only reported: the test's outcome stands.
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop the test database {}: {e}", self.name),
            Err(_) => {
                eprintln!("could not drop the test database {}: the thread dropping it panicked", self.name);
            }
        }
    }
}
