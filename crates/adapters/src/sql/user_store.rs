use application::ports::{AddUserError, PasswordHash, StoreError, UserRecord, UserStore};
use async_trait::async_trait;
use domain::{Scopes, Username};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, Set, SqlErr};

use super::entities::users;
use super::errors::{corrupt, store_error};
use super::millis_to_db;

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
        }))
    }

    async fn add(&self, user: &UserRecord) -> Result<(), AddUserError> {
        let row = users::ActiveModel {
            username: Set(user.username.as_str().to_owned()),
            password_hash: Set(user.password_hash.as_str().to_owned()),
            scopes: Set(user.scopes.to_string()),
            created_at: Set(millis_to_db(now_millis())),
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
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
