//! Browser sessions of mentors and the operator. The cookie carries a random token;
//! the database holds only its hash (see [`crate::tokens`]).

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::{BeginWrite, Store, StoreResult, with_pool};

/// Who a browser session signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionSubject {
    /// A mentor, after a one-time code sent to their phone.
    Mentor(i64),
    /// The operator, after the admin token.
    Operator,
}

impl Store {
    /// Stores a session for `subject` under `token_hash`, valid until `expires_at`.
    /// Expired sessions are swept in the same write.
    #[instrument(skip_all)]
    pub async fn create_session(
        &self,
        token_hash: &str,
        subject: SessionSubject,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (mentor_id, operator) = match subject {
            SessionSubject::Mentor(id) => (Some(id), false),
            SessionSubject::Operator => (None, true),
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("delete from web_sessions where expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "insert into web_sessions (token_hash, mentor_id, operator, created_at, expires_at)
                 values ($1, $2, $3, $4, $5)")
                .bind(token_hash)
                .bind(mentor_id)
                .bind(operator)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Who the session under `token_hash` signs in, if it exists and has not expired.
    #[instrument(skip_all)]
    pub async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SessionSubject>> {
        let row: Option<(Option<i64>, bool)> = with_pool!(self, pool => sqlx::query_as(
            "select mentor_id, operator from web_sessions
             where token_hash = $1 and expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(|(mentor_id, operator)| match mentor_id {
            Some(id) if !operator => SessionSubject::Mentor(id),
            _ => SessionSubject::Operator,
        }))
    }

    /// Ends the session under `token_hash` (sign-out); nothing if there is none.
    #[instrument(skip_all)]
    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        with_pool!(self, pool => sqlx::query("delete from web_sessions where token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }
}
