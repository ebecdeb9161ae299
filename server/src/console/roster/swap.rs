//! A swap request carried out on the published roster: the requester's shift that day given to
//! the colleague as a hand move would give it, checked by the solver's rule checker first (what
//! approving would break is shown before anyone approves), then stored as a new version and
//! published in the same transaction as the request's decision, so the phones of both receive
//! the changed roster and the approval together.

use std::sync::Arc;

use kefu_core::ids::Timestamp;
use kefu_core::request::Request;
use kefu_core::sync::server::AcceptedDoc;
use kefu_solver::output::{OutcomeJson, ViolationJson};

use super::pages::{Loaded, blocking, invalid, load, moved, publication};
use crate::http::{ApiError, AppState};
use crate::storage::{PublishedDoc, ServerDoc, StorageError};

/// How many published versions, newest first, are searched for the one covering a swap's day.
const VERSIONS_SEARCHED: usize = 12;

/// A swap worked out on the roster in force.
pub struct SwapPlan {
    /// The published roster whose period covers the swap's day.
    loaded: Loaded,
    /// Its JSON after the move.
    json: String,
    /// The rules the move would break that the roster keeps now.
    pub breaches: Vec<ViolationJson>,
}

/// The newest published roster covering `request`'s swap day, with the move applied and checked.
pub async fn plan(state: &AppState, team_id: i64, request: &Request) -> Result<SwapPlan, ApiError> {
    let swap =
        request.swap.as_ref().ok_or_else(|| invalid("request.not_swap", format!("{} is not a swap", request.id)))?;
    let storage = Arc::clone(&state.storage);
    let versions = blocking(move || Ok(storage.roster_versions(team_id)?)).await?;
    for record in versions.iter().filter(|record| record.published.is_some()).take(VERSIONS_SEARCHED) {
        let Some(loaded) = load(state, team_id, Some(record.version)).await? else { continue };
        if !loaded.problem.days.contains(&swap.date) {
            continue;
        }
        let date = swap.date.format("%Y-%m-%d").to_string();
        let json = moved(
            loaded.problem.clone(),
            loaded.roster.clone(),
            loaded.outcome.clone(),
            request.staff.as_str(),
            &date,
            swap.colleague.as_str(),
        )
        .map_err(|err| ApiError::Conflict {
            code: "request.swap_impossible",
            message: format!("{} cannot be carried out on roster {}: {err}", request.id, record.version),
        })?;
        let after: OutcomeJson = serde_json::from_str(&json).map_err(|err| ApiError::Internal(err.to_string()))?;
        let breaches = after
            .violations
            .into_iter()
            .filter(|breach| {
                !loaded.outcome.violations.iter().any(|kept| kept.rule == breach.rule && kept.detail == breach.detail)
            })
            .collect();
        return Ok(SwapPlan { loaded, json, breaches });
    }
    Err(ApiError::Conflict {
        code: "request.no_roster",
        message: format!("no published roster covers {}, the day of swap {}", swap.date, request.id),
    })
}

/// Stores the planned roster as a new version and publishes it, with `decide` (the request's
/// approval, built from the stored request) in the same transaction; returns the version.
pub async fn carry_out(
    state: &AppState,
    team_id: i64,
    plan: SwapPlan,
    by: String,
    request_id: String,
    decide: impl Fn(Option<&[u8]>) -> Result<AcceptedDoc, StorageError> + Send + 'static,
) -> Result<i64, ApiError> {
    let storage = Arc::clone(&state.storage);
    let team_version = plan.loaded.record.team_version;
    let (json, made_by) = (plan.json, by.clone());
    // The draft is its own transaction: if publishing fails below, a draft is left for the
    // supervisor to see, and the request stays undecided.
    let version =
        blocking(move || Ok(storage.insert_roster(team_id, team_version, &json, &made_by, Timestamp::now())?)).await?;
    let publication = publication(state, &plan.loaded.problem, version, by)
        .ok_or_else(|| ApiError::Internal("a published roster's team file has no days".into()))?;
    let storage = Arc::clone(&state.storage);
    let published = blocking(move || {
        let id = publication.doc_id();
        let also = ServerDoc { id: &request_id, build: &decide };
        let doc = PublishedDoc { id: &id, build: &|json, stored| publication.build(json, stored), also: Some(also) };
        match storage.publish_roster(team_id, version, &publication.by, publication.at, &doc) {
            Err(StorageError::Conflict(message)) => Err(ApiError::Conflict { code: "request.decided", message }),
            other => Ok(other?),
        }
    })
    .await?;
    if !published {
        return Err(ApiError::Internal(format!("the swap's roster version {version} was published already")));
    }
    Ok(version)
}
