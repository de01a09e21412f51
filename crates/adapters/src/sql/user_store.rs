use application::ports::{
    AddUserError, PasswordHash, StoreError, UserRecord, UserStore, UserSummary,
};
use async_trait::async_trait;
use domain::{Scopes, Username};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    SqlErr,
};

use super::entities::{millis_to_db, users};
use super::errors::{corrupt, store_error};

/// User accounts in the `users` table (SQLite or MySQL).
#[derive(Debug, Clone)]
pub struct SqlUserStore {
    db: DatabaseConnection,
}

impl SqlUserStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl UserStore for SqlUserStore {
    async fn find(&self, username: &Username) -> Result<Option<UserRecord>, StoreError> {
        let Some(row) = users::Entity::find_by_id(username.as_str().to_owned())
            .one(&self.db)
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        Ok(Some(UserRecord {
            username: Username::parse(row.username).map_err(|_| corrupt("users.username"))?,
            password_hash: PasswordHash::new(row.password_hash),
            scopes: Scopes::parse_list(&row.scopes).map_err(|_| corrupt("users.scopes"))?,
            disabled: row.disabled_at.is_some(),
        }))
    }

    async fn add(&self, user: &UserRecord) -> Result<(), AddUserError> {
        let row = users::ActiveModel {
            username: Set(user.username.as_str().to_owned()),
            password_hash: Set(user.password_hash.as_str().to_owned()),
            scopes: Set(user.scopes.to_string()),
            created_at: Set(millis_to_db(now_millis())),
            disabled_at: Set(None),
        };
        match users::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => Err(AddUserError::AlreadyExists),
                _ => Err(AddUserError::Store(store_error(err))),
            },
        }
    }

    async fn count(&self) -> Result<u64, StoreError> {
        users::Entity::find()
            .count(&self.db)
            .await
            .map_err(store_error)
    }

    async fn list(&self) -> Result<Vec<UserSummary>, StoreError> {
        users::Entity::find()
            .order_by_asc(users::Column::Username)
            .all(&self.db)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|row| {
                Ok(UserSummary {
                    username: Username::parse(row.username)
                        .map_err(|_| corrupt("users.username"))?,
                    scopes: Scopes::parse_list(&row.scopes).map_err(|_| corrupt("users.scopes"))?,
                    created_at: millis_from_db(row.created_at),
                    disabled_at: row.disabled_at.map(millis_from_db),
                })
            })
            .collect()
    }

    async fn set_disabled(&self, username: &Username, at: Option<u64>) -> Result<bool, StoreError> {
        let updated = users::Entity::update_many()
            .col_expr(users::Column::DisabledAt, Expr::value(at.map(millis_to_db)))
            .filter(users::Column::Username.eq(username.as_str()))
            .exec(&self.db)
            .await
            .map_err(store_error)?;
        Ok(updated.rows_affected > 0)
    }

    async fn set_password_hash(
        &self,
        username: &Username,
        hash: &PasswordHash,
    ) -> Result<bool, StoreError> {
        let updated = users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash.as_str()))
            .filter(users::Column::Username.eq(username.as_str()))
            .exec(&self.db)
            .await
            .map_err(store_error)?;
        Ok(updated.rows_affected > 0)
    }
}

/// A stored timestamp; never negative in rows this store wrote.
fn millis_from_db(millis: i64) -> u64 {
    u64::try_from(millis).unwrap_or(0)
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
