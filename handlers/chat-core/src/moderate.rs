//! Moderation (sign-in on): a member of the Cognito `moderators` group may
//! delete any message of their room and disconnect anyone connected to it
//! under a name (with sign-in, a name is one person). Everyone else gets
//! `forbidden`. Each action is logged with who did it.

use crate::frames::{Frame, ModerateOp};
use crate::message::MessageRouteStore;
use crate::model::Connection;
use crate::ports::Disconnector;
use crate::store::StoreError;
use crate::validate::validate_name;

/// Carries out `op` for `moderator`'s room; the reply for the moderator.
pub async fn moderate<S: MessageRouteStore, D: Disconnector>(
    store: &S,
    disconnector: &D,
    moderator: &Connection,
    op: ModerateOp,
    id: Option<String>,
    name: Option<String>,
    now: i64,
) -> Result<Option<Frame>, Frame> {
    if !moderator.moderator || moderator.user.is_none() {
        return Err(Frame::error(
            "forbidden",
            None,
            "only moderators (the `moderators` group of the chat's user pool) can moderate",
        ));
    }
    let room = &moderator.room;
    let (target, count) = match op {
        ModerateOp::Delete => {
            let id = id.ok_or_else(|| missing("id", "the message id to delete"))?;
            match store.delete_message(room, &id, None, now).await {
                Ok(()) => (id, 1),
                Err(StoreError::Forbidden) => {
                    return Err(Frame::error(
                        "invalid",
                        Some("id"),
                        "there is no such message in this room",
                    ))
                }
                Err(e) => return Err(internal(e)),
            }
        }
        ModerateOp::Disconnect => {
            let name = name.ok_or_else(|| missing("name", "the name to disconnect"))?;
            validate_name(&name)
                .map_err(|e| Frame::error("invalid", Some("name"), e.to_string()))?;
            let limit = store.settings().connections_per_room as usize;
            let people = store
                .people_in_room(room, limit, now)
                .await
                .map_err(internal)?;
            let mut closed = 0;
            for person in people.iter().filter(|p| p.name == name) {
                match disconnector.disconnect(&person.connection_id).await {
                    Ok(true) => closed += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "a connection was not closed"),
                }
            }
            (name, closed)
        }
    };
    // Names are checked chat names and ids ULIDs: nothing here is free text.
    tracing::info!(
        moderator = moderator.name,
        moderator_user = moderator.user.as_deref().unwrap_or_default(),
        room,
        op = op.as_str(),
        target,
        count,
        "moderation"
    );
    Ok(Some(Frame::Moderated { op, target, count }))
}

fn missing(field: &str, what: &str) -> Frame {
    Frame::error("invalid", Some(field), format!("{field}: give {what}"))
}

fn internal(e: StoreError) -> Frame {
    tracing::error!(error = %e, "storage failed");
    Frame::error("internal", None, "the chat could not do that; try again")
}
