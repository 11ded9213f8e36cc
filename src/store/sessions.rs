//! Browser sessions of mentors and the operator. The cookie carries a random token;
//! the database holds only its hash (see [`crate::tokens`]).
//!
//! Not here: cookies and who may sign in (`web::pages::session`).

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::{BeginWrite, Store, StoreResult, with_pool};
use crate::ids::MentorId;

/// Who a browser session signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionSubject {
    /// A mentor, after a one-time code sent to their phone.
    Mentor(MentorId),
    /// The operator, after the admin token.
    Operator,
}

/// A browser session to store: whom it signs in, under which token, until when.
#[derive(Clone, Copy, Debug)]
pub struct NewSession<'a> {
    /// The hash of the cookie's token (never the token).
    pub token_hash: &'a str,
    /// Who it signs in.
    pub subject: SessionSubject,
    /// The fingerprint of the admin token that signed an operator in
    /// ([`crate::tokens::admin_key`]); ignored for a mentor, whose session keeps
    /// none.
    pub admin_key: Option<&'a str>,
    /// When it starts.
    pub now: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Stores `session`. Expired sessions are swept in the same write.
    #[instrument(skip_all)]
    pub async fn create_session(&self, session: NewSession<'_>) -> StoreResult<()> {
        let (mentor_id, operator, admin_key) = match session.subject {
            SessionSubject::Mentor(id) => (Some(id), false, None),
            SessionSubject::Operator => (None, true, session.admin_key),
        };
        with_pool!(self, pool, {
            let mut tx = pool.begin_write().await?;
            sqlx::query("delete from web_sessions where expires_at <= $1")
                .bind(session.now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "insert into web_sessions
                     (token_hash, mentor_id, operator, admin_key, created_at, expires_at)
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(session.token_hash)
            .bind(mentor_id)
            .bind(operator)
            .bind(admin_key)
            .bind(session.now)
            .bind(session.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Who the session under `token_hash` signs in, if it exists and has not
    /// expired. An operator's counts only while the admin token is the one that
    /// signed them in (`admin_key`, its fingerprint; `None` when the deployment
    /// has no admin token, and then no operator session counts).
    #[instrument(skip_all)]
    pub async fn session(
        &self,
        token_hash: &str,
        admin_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SessionSubject>> {
        let row: Option<(Option<MentorId>, bool, Option<String>)> = with_pool!(self, pool, {
            sqlx::query_as(
                "select mentor_id, operator, admin_key from web_sessions
                 where token_hash = $1 and expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        Ok(
            row.and_then(|(mentor_id, operator, signed_in_with)| match mentor_id {
                Some(id) if !operator => Some(SessionSubject::Mentor(id)),
                // Signed in with the admin token the deployment has now.
                _ => (signed_in_with.is_some() && signed_in_with.as_deref() == admin_key)
                    .then_some(SessionSubject::Operator),
            }),
        )
    }

    /// Ends the session under `token_hash` (sign-out); nothing if there is none.
    #[instrument(skip_all)]
    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        with_pool!(self, pool, {
            sqlx::query("delete from web_sessions where token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }
}
