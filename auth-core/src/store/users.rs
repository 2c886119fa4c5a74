//! Users (`/api/v2/users`). Password hashes live in a column the [`User`] struct does not
//! carry; emails are stored lowercase (Auth0 database connections are case-insensitive on
//! email), and metadata updates follow Auth0's one-level merge.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::AnyConnection;

use super::json::{check_allowed, decode, encode, merge_metadata, patch_object, require_object};
use super::time::{now_ms, rfc3339_from_ms};
use super::{Store, StoreError, StoreResult, ids};

/// Largest page `list_users` returns, as in Auth0.
const MAX_PER_PAGE: u32 = 100;

/// Fields `update_user` accepts. `password` is deliberately absent: the caller hashes it and
/// calls [`Store::set_password_hash`]. `connection` is accepted only when it names the user's
/// own connection (Auth0 clients send it alongside email/password changes).
const PATCHABLE: [&str; 13] = [
    "email",
    "email_verified",
    "username",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "app_metadata",
    "user_metadata",
    "blocked",
    "connection",
];

/// Fields `q` may match exactly with `field:value` in [`Store::list_users`]. The names are
/// also the column names, which keeps the query text free of caller input.
const QUERY_FIELDS: [&str; 6] = [
    "email",
    "user_id",
    "connection",
    "name",
    "username",
    "nickname",
];

/// One identity of a user; database users have exactly one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub connection: String,
    /// `auth0` for database connections.
    pub provider: String,
    /// The user id without the `auth0|` prefix.
    pub user_id: String,
    #[serde(rename = "isSocial")]
    pub is_social: bool,
}

/// A user, in the shape of Auth0's `GET /api/v2/users/{id}`. Unset optional attributes are
/// omitted from the JSON, as Auth0 does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub identities: Vec<Identity>,
    pub logins_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ip: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub blocked: bool,
    /// Name of the user's connection. Not part of Auth0's user JSON (it is in `identities`),
    /// so it is not serialized.
    #[serde(skip_serializing, default)]
    pub connection: String,
}

/// A user to create. `connection` is the connection *name*.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewUser {
    pub connection: String,
    /// Keep this id (custom-database imports). Ids without a provider prefix get `auth0|`;
    /// `None` generates `auth0|` + 24 hex digits.
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub username: Option<String>,
    pub phone_number: Option<String>,
    /// Defaults to the email.
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Defaults to the local part of the email.
    pub nickname: Option<String>,
    pub picture: Option<String>,
    /// Must be an object when set.
    pub app_metadata: Option<Value>,
    /// Must be an object when set.
    pub user_metadata: Option<Value>,
    /// Hash produced by the caller (bcrypt); never the password itself.
    pub password_hash: Option<String>,
    pub blocked: bool,
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) user_id: String,
    connection: String,
    email: Option<String>,
    email_verified: i64,
    username: Option<String>,
    phone_number: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    app_metadata: String,
    user_metadata: String,
    logins_count: i64,
    last_login: Option<i64>,
    last_ip: Option<String>,
    blocked: i64,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    pub(super) fn into_user(self) -> StoreResult<User> {
        let identity_id = match self.user_id.split_once('|') {
            Some((_, rest)) => rest.to_string(),
            None => self.user_id.clone(),
        };
        Ok(User {
            app_metadata: decode(&self.app_metadata, "app_metadata")?,
            user_metadata: decode(&self.user_metadata, "user_metadata")?,
            logins_count: u64::try_from(self.logins_count)
                .map_err(|e| StoreError::corrupt("logins_count", e))?,
            identities: vec![Identity {
                connection: self.connection.clone(),
                provider: "auth0".into(),
                user_id: identity_id,
                is_social: false,
            }],
            user_id: self.user_id,
            email: self.email,
            email_verified: self.email_verified != 0,
            username: self.username,
            phone_number: self.phone_number,
            name: self.name,
            given_name: self.given_name,
            family_name: self.family_name,
            nickname: self.nickname,
            picture: self.picture,
            last_login: self.last_login.map(rfc3339_from_ms),
            last_ip: self.last_ip,
            created_at: rfc3339_from_ms(self.created_at),
            updated_at: rfc3339_from_ms(self.updated_at),
            blocked: self.blocked != 0,
            connection: self.connection,
        })
    }
}

const COLUMNS: &str = "user_id, connection, email, CAST(email_verified AS INTEGER) AS email_verified, username, phone_number, name, \
    given_name, family_name, nickname, picture, app_metadata, user_metadata, logins_count, \
    last_login, last_ip, CAST(blocked AS INTEGER) AS blocked, created_at, updated_at";

/// [`COLUMNS`] of the table aliased `u`, for joins (a test keeps the two lists equal).
pub(super) const U_COLUMNS: &str = "u.user_id, u.connection, u.email, CAST(u.email_verified AS INTEGER) AS email_verified, u.username, u.phone_number, u.name, \
    u.given_name, u.family_name, u.nickname, u.picture, u.app_metadata, u.user_metadata, u.logins_count, \
    u.last_login, u.last_ip, CAST(u.blocked AS INTEGER) AS blocked, u.created_at, u.updated_at";

/// Emails compare case-insensitively, so they are stored and looked up lowercase.
/// How emails are compared: lookups and brute-force keys must agree on it.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn validate_email(email: &str) -> StoreResult<()> {
    if email.contains('@') && !email.starts_with('@') && !email.ends_with('@') {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "Payload validation error: Object didn't pass validation for format email: {email}"
        )))
    }
}

/// Readable message for a uniqueness failure on the users table.
fn user_conflict(message: &str) -> String {
    if message.contains("username") {
        "The username provided is in use already.".to_string()
    } else {
        "The user already exists.".to_string()
    }
}

async fn fetch(conn: &mut AnyConnection, tenant: &str, user_id: &str) -> StoreResult<User> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND user_id = $2");
    let row: Option<UserRow> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.ok_or(StoreError::NotFound("user"))?.into_user()
}

/// Writes both metadata documents back (inside the caller's transaction).
async fn write_metadata(
    conn: &mut AnyConnection,
    tenant: &str,
    user_id: &str,
    app: &Value,
    user: &Value,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE users SET app_metadata = $3, user_metadata = $4, updated_at = $5
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant)
    .bind(user_id)
    .bind(encode(app)?)
    .bind(encode(user)?)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Interprets one PATCH value for an optional string attribute (`null` clears it).
fn optional_string(value: &Value, field: &str) -> StoreResult<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(StoreError::Invalid(format!(
            "Payload validation error: '{field}' must be a string or null"
        ))),
    }
}

fn boolean(value: &Value, field: &str) -> StoreResult<bool> {
    value.as_bool().ok_or_else(|| {
        StoreError::Invalid(format!(
            "Payload validation error: '{field}' must be a boolean"
        ))
    })
}

/// Applies a metadata PATCH value: an object is merged one level deep (null deletes a key),
/// `null` clears the whole document.
fn patch_metadata(target: &mut Value, change: &Value, field: &str) -> StoreResult<()> {
    match change {
        Value::Null => *target = Value::Object(Map::new()),
        Value::Object(changes) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Some(map) = target.as_object_mut() {
                merge_metadata(map, changes);
            }
        }
        _ => {
            return Err(StoreError::Invalid(format!(
                "Payload validation error: '{field}' must be an object"
            )));
        }
    }
    Ok(())
}

/// A parsed `q` for `list_users`.
enum UserQuery {
    All,
    /// `field:value` or `field:"value"`, exact match on a whitelisted column.
    Field(&'static str, String),
    /// Anything else: case-insensitive substring of email, name, username or nickname.
    Substring(String),
}

fn parse_query(q: Option<&str>) -> UserQuery {
    let q = q.map(str::trim).unwrap_or("");
    if q.is_empty() {
        return UserQuery::All;
    }
    if let Some((field, value)) = q.split_once(':')
        && let Some(column) = QUERY_FIELDS.iter().find(|f| **f == field.trim())
    {
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let value = if *column == "email" {
            normalize_email(value)
        } else {
            value.to_string()
        };
        return UserQuery::Field(column, value);
    }
    UserQuery::Substring(q.to_lowercase())
}

/// Escapes LIKE wildcards so a search for `a_b` matches only that text.
fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Store {
    /// Creates a user in an existing connection of the tenant (`NotFound("connection")`
    /// otherwise). `Conflict("The user already exists.")` when the email (or id) is taken in
    /// that connection, `Conflict("The username provided is in use already.")` for a taken
    /// username.
    pub async fn create_user(&self, tenant: &str, new: NewUser) -> StoreResult<User> {
        let email = new.email.as_deref().map(normalize_email);
        if let Some(email) = &email {
            validate_email(email)?;
        }
        let app_metadata = require_object(
            new.app_metadata.unwrap_or(Value::Object(Map::new())),
            "app_metadata",
        )?;
        let user_metadata = require_object(
            new.user_metadata.unwrap_or(Value::Object(Map::new())),
            "user_metadata",
        )?;
        let user_id = match new.user_id {
            Some(id) if id.is_empty() => {
                return Err(StoreError::Invalid(
                    "Payload validation error: empty user_id".into(),
                ));
            }
            Some(id) if id.contains('|') => id,
            Some(id) => format!("auth0|{id}"),
            None => ids::user_id(),
        };
        let name = new.name.or_else(|| email.clone());
        let nickname = new.nickname.or_else(|| {
            email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .map(str::to_string)
        });
        let mut conn = self.conn().await?;
        let exists: Option<(String,)> =
            sqlx::query_as("SELECT id FROM connections WHERE tenant_id = $1 AND name = $2")
                .bind(tenant)
                .bind(&new.connection)
                .fetch_optional(&mut *conn)
                .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("connection"));
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO users (tenant_id, user_id, connection, email, email_verified, username,
                 phone_number, name, given_name, family_name, nickname, picture, app_metadata,
                 user_metadata, password_hash, logins_count, blocked, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, $17, $17)",
        )
        .bind(tenant)
        .bind(&user_id)
        .bind(&new.connection)
        .bind(&email)
        .bind(new.email_verified)
        .bind(&new.username)
        .bind(&new.phone_number)
        .bind(&name)
        .bind(&new.given_name)
        .bind(&new.family_name)
        .bind(&nickname)
        .bind(&new.picture)
        .bind(encode(&app_metadata)?)
        .bind(encode(&user_metadata)?)
        .bind(&new.password_hash)
        .bind(new.blocked)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| StoreError::from_insert(e, "connection", user_conflict))?;
        fetch(&mut conn, tenant, &user_id).await
    }

    /// The user with this id.
    pub async fn get_user(&self, tenant: &str, user_id: &str) -> StoreResult<User> {
        fetch(&mut *self.conn().await?, tenant, user_id).await
    }

    /// The user with this email (case-insensitive) in one connection — the login lookup.
    pub async fn user_by_email(
        &self,
        tenant: &str,
        connection: &str,
        email: &str,
    ) -> StoreResult<User> {
        let sql = format!(
            "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND connection = $2 AND email = $3"
        );
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(connection)
            .bind(normalize_email(email))
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.ok_or(StoreError::NotFound("user"))?.into_user()
    }

    /// Users with this email in any connection (`GET /api/v2/users-by-email`), oldest first.
    pub async fn users_by_email(&self, tenant: &str, email: &str) -> StoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND email = $2 ORDER BY created_at, user_id"
        );
        let rows: Vec<UserRow> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(normalize_email(email))
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    /// One page of users (0-based `page`, `per_page` clamped to 1..=100), oldest first, and the
    /// total number of matches.
    ///
    /// `q` is deliberately simple, not Lucene: `field:value` or `field:"value"` matches one of
    /// `email` (case-insensitive), `user_id`, `connection`, `name`, `username`, `nickname`
    /// exactly; any other non-empty text matches a case-insensitive substring of email, name,
    /// username or nickname.
    pub async fn list_users(
        &self,
        tenant: &str,
        page: u32,
        per_page: u32,
        q: Option<&str>,
    ) -> StoreResult<(Vec<User>, u64)> {
        let per_page = per_page.clamp(1, MAX_PER_PAGE);
        let offset = i64::from(page) * i64::from(per_page);
        let (filter, value) = match parse_query(q) {
            UserQuery::All => ("$2 IS NULL".to_string(), None),
            UserQuery::Field(column, value) => (format!("{column} = $2"), Some(value)),
            UserQuery::Substring(needle) => (
                "(LOWER(COALESCE(email, '')) LIKE $2 ESCAPE '\\'
                  OR LOWER(COALESCE(name, '')) LIKE $2 ESCAPE '\\'
                  OR LOWER(COALESCE(username, '')) LIKE $2 ESCAPE '\\'
                  OR LOWER(COALESCE(nickname, '')) LIKE $2 ESCAPE '\\')"
                    .to_string(),
                Some(like_pattern(&needle)),
            ),
        };
        // One snapshot for the count and the page, so `total` matches what was paged.
        let mut tx = self.read_tx().await?;
        let count_sql = format!("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND {filter}");
        let (total,): (i64,) = sqlx::query_as(&count_sql)
            .bind(tenant)
            .bind(&value)
            .fetch_one(&mut *tx)
            .await?;
        let page_sql = format!(
            "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND {filter}
             ORDER BY created_at, user_id LIMIT $3 OFFSET $4"
        );
        let rows: Vec<UserRow> = sqlx::query_as(&page_sql)
            .bind(tenant)
            .bind(&value)
            .bind(i64::from(per_page))
            .bind(offset)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<StoreResult<Vec<_>>>()?;
        let total = u64::try_from(total).map_err(|e| StoreError::corrupt("user count", e))?;
        Ok((users, total))
    }

    /// Auth0 PATCH for users: given attributes replace the stored ones (`null` clears optional
    /// ones); `app_metadata` and `user_metadata` are merged one level deep, a `null` value
    /// deleting that key (and `null` for the whole document clearing it). `password` and
    /// unknown fields are `Invalid`; a taken email or username is `Conflict`.
    pub async fn update_user(
        &self,
        tenant: &str,
        user_id: &str,
        patch: Value,
    ) -> StoreResult<User> {
        self.update_user_and_password(tenant, user_id, patch, None)
            .await
    }

    /// [`Store::update_user`], storing `password_hash` (when given) in the same
    /// transaction: a PATCH with a password and other fields applies all or nothing.
    pub async fn update_user_and_password(
        &self,
        tenant: &str,
        user_id: &str,
        patch: Value,
        password_hash: Option<&str>,
    ) -> StoreResult<User> {
        let fields = patch_object(&patch)?;
        if fields.contains_key("password") {
            return Err(StoreError::Invalid(
                "password must be hashed by the caller and stored with set_password_hash".into(),
            ));
        }
        check_allowed(fields, &PATCHABLE)?;
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("user:{tenant}:{user_id}")).await?;
        let mut user = fetch(tx.conn(), tenant, user_id).await?;
        for (key, value) in fields {
            match key.as_str() {
                "email" => {
                    let email = optional_string(value, key)?.map(|e| normalize_email(&e));
                    if let Some(email) = &email {
                        validate_email(email)?;
                    }
                    user.email = email;
                }
                "email_verified" => user.email_verified = boolean(value, key)?,
                "blocked" => user.blocked = boolean(value, key)?,
                "username" => user.username = optional_string(value, key)?,
                "phone_number" => user.phone_number = optional_string(value, key)?,
                "name" => user.name = optional_string(value, key)?,
                "given_name" => user.given_name = optional_string(value, key)?,
                "family_name" => user.family_name = optional_string(value, key)?,
                "nickname" => user.nickname = optional_string(value, key)?,
                "picture" => user.picture = optional_string(value, key)?,
                "app_metadata" => patch_metadata(&mut user.app_metadata, value, key)?,
                "user_metadata" => patch_metadata(&mut user.user_metadata, value, key)?,
                "connection" if value.as_str() != Some(user.connection.as_str()) => {
                    return Err(StoreError::Invalid(
                        "a user cannot be moved to another connection".into(),
                    ));
                }
                _ => {}
            }
        }
        sqlx::query(
            "UPDATE users SET email = $3, email_verified = $4, username = $5, phone_number = $6,
                 name = $7, given_name = $8, family_name = $9, nickname = $10, picture = $11,
                 app_metadata = $12, user_metadata = $13, blocked = $14, updated_at = $15,
                 password_hash = COALESCE($16, password_hash)
             WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(&user.email)
        .bind(user.email_verified)
        .bind(&user.username)
        .bind(&user.phone_number)
        .bind(&user.name)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.nickname)
        .bind(&user.picture)
        .bind(encode(&user.app_metadata)?)
        .bind(encode(&user.user_metadata)?)
        .bind(user.blocked)
        .bind(now_ms())
        .bind(password_hash)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_write(e, user_conflict))?;
        let updated = fetch(tx.conn(), tenant, user_id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Stores a new password hash (password change / reset / import).
    pub async fn set_password_hash(
        &self,
        tenant: &str,
        user_id: &str,
        hash: &str,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(hash)
        .bind(now_ms())
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    /// The stored password hash (`None` for users without a local password, e.g. custom
    /// database users outside import mode); `NotFound` if the user does not exist.
    pub async fn password_hash(&self, tenant: &str, user_id: &str) -> StoreResult<Option<String>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT password_hash FROM users WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant)
                .bind(user_id)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        Ok(row.ok_or(StoreError::NotFound("user"))?.0)
    }

    /// Deletes the user with their refresh tokens, authorization codes and second factors.
    pub async fn delete_user(&self, tenant: &str, user_id: &str) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        // Second factors have no foreign key (see migration 0007): removed here.
        sqlx::query("DELETE FROM mfa_authenticators WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// Counts a successful login: `logins_count + 1`, `last_login = now`, `last_ip = ip`.
    /// A single UPDATE, so concurrent logins are all counted.
    pub async fn record_login(&self, tenant: &str, user_id: &str, ip: &str) -> StoreResult<()> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE users SET logins_count = logins_count + 1, last_login = $3, last_ip = $4, updated_at = $3
             WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant)
        .bind(user_id)
        .bind(now)
        .bind(ip)
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    /// Applies the metadata batched by a login pipeline (`api.user.setAppMetadata` /
    /// `setUserMetadata`) in one serialized read-modify-write: top-level keys replace, `null`
    /// deletes. Concurrent calls on the same user never lose each other's keys. Returns the
    /// updated user.
    pub async fn merge_metadata(
        &self,
        tenant: &str,
        user_id: &str,
        app: Map<String, Value>,
        user: Map<String, Value>,
    ) -> StoreResult<User> {
        let mut tx = self.write_tx().await?;
        tx.lock(&format!("user:{tenant}:{user_id}")).await?;
        let mut current = fetch(tx.conn(), tenant, user_id).await?;
        patch_metadata(
            &mut current.app_metadata,
            &Value::Object(app),
            "app_metadata",
        )?;
        patch_metadata(
            &mut current.user_metadata,
            &Value::Object(user),
            "user_metadata",
        )?;
        write_metadata(
            tx.conn(),
            tenant,
            user_id,
            &current.app_metadata,
            &current.user_metadata,
        )
        .await?;
        let updated = fetch(tx.conn(), tenant, user_id).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_joined_column_list_is_the_plain_one_with_an_alias() {
        assert_eq!(super::U_COLUMNS.replace("u.", ""), super::COLUMNS);
    }
}
