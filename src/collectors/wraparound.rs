//! Transaction ID wraparound safety: `age(datfrozenxid)` per database and the worst relations
//! by `age(relfrozenxid)`, with the fraction of the 2^31 limit used.

use serde::Serialize;
use tokio_postgres::Client;

/// XIDs available before wraparound.
pub const XID_LIMIT: f64 = 2_147_483_648.0;

pub const DATABASE_AGES_SQL: &str = "\
SELECT datname::text AS database, age(datfrozenxid)::int8 AS xid_age, mxid_age(datminmxid)::int8 AS mxid_age
  FROM pg_database
 ORDER BY 2 DESC, 1";

pub const RELATION_AGES_SQL: &str = r"
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind, age(c.relfrozenxid)::int8 AS xid_age
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm', 't')
 ORDER BY age(c.relfrozenxid) DESC, c.oid
 LIMIT $1";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DatabaseAge {
    pub database: String,
    pub xid_age: i64,
    pub mxid_age: i64,
    pub fraction_of_limit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RelationAge {
    pub relation: String,
    pub relkind: String,
    pub xid_age: i64,
    pub fraction_of_limit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Wraparound {
    pub databases: Vec<DatabaseAge>,
    pub relations: Vec<RelationAge>,
}

pub async fn collect(client: &Client, limit: u32) -> Result<Wraparound, tokio_postgres::Error> {
    let limit = i64::from(limit);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&limit];
    let (dbs, rels) = tokio::join!(
        client.query(DATABASE_AGES_SQL, &[]),
        client.query(RELATION_AGES_SQL, &params)
    );
    let databases = dbs?
        .iter()
        .map(|r| {
            let xid_age: i64 = r.try_get("xid_age")?;
            Ok(DatabaseAge {
                database: r.try_get("database")?,
                xid_age,
                mxid_age: r.try_get("mxid_age")?,
                fraction_of_limit: xid_age as f64 / XID_LIMIT,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    let relations = rels?
        .iter()
        .map(|r| {
            let xid_age: i64 = r.try_get("xid_age")?;
            Ok(RelationAge {
                relation: crate::db::capabilities::qualified_name(
                    &r.try_get::<_, String>("schema")?,
                    &r.try_get::<_, String>("name")?,
                ),
                relkind: r.try_get("relkind")?,
                xid_age,
                fraction_of_limit: xid_age as f64 / XID_LIMIT,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(Wraparound { databases, relations })
}

/// The databases the API shows: `ui.hide_postgres_defaults` hides postgres and template*.
pub fn visible(databases: &[DatabaseAge], hide_defaults: bool) -> Vec<DatabaseAge> {
    databases
        .iter()
        .filter(|d| !hide_defaults || !matches!(d.database.as_str(), "postgres" | "template0" | "template1"))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hidden_only_when_asked() {
        let age = |name: &str| DatabaseAge {
            database: name.into(),
            xid_age: 1,
            mxid_age: 1,
            fraction_of_limit: 0.0,
        };
        let all = vec![age("app"), age("postgres"), age("template0"), age("template1")];
        assert_eq!(visible(&all, true).len(), 1);
        assert_eq!(visible(&all, false).len(), 4);
    }
}
