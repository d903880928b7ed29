//! `POST /servers/{id}/action`: reboot, os-start, os-stop,
//! os-getConsoleOutput and os-migrateLive.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use nova_core::RequestContext;
use serde_json::{json, Value};

use super::version::Microversion;
use super::{json_body, parse_id};
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;
use crate::util::{bool_of, int_of};

/// The `length` of os-getConsoleOutput: omitted, null or -1 = everything.
fn console_length(arg: &Value) -> ApiResult<Option<usize>> {
    let bad = || Fault::bad_request("Invalid input for field/attribute length.");
    match arg.get("length") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match int_of(v).ok_or_else(bad)? {
            -1 => Ok(None),
            n => usize::try_from(n).map(Some).map_err(|_| bad()),
        },
    }
}

/// The target of os-migrateLive: `host` (a name or null) and
/// `block_migration` (bool or `"auto"` from 2.25).
fn migrate_args(arg: &Value, v: Microversion) -> ApiResult<(Option<String>, Option<bool>)> {
    let host = match arg.get("host") {
        None | Some(Value::Null) => None,
        Some(Value::String(h)) if !h.is_empty() => Some(h.clone()),
        Some(_) => {
            return Err(Fault::bad_request(
                "Invalid input for field/attribute host.",
            ))
        }
    };
    let block = match arg.get("block_migration") {
        Some(Value::String(s)) if s == "auto" && v.at_least(25) => None,
        Some(b) => Some(bool_of(b).ok_or_else(|| {
            Fault::bad_request("Invalid input for field/attribute block_migration.")
        })?),
        None if v.at_least(25) => None,
        None => return Err(Fault::bad_request("block_migration is a required property")),
    };
    Ok((host, block))
}

/// Dispatches one action.
pub(crate) async fn action(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(v): Extension<Microversion>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id(&id, "Instance")?;
    let body = json_body(&body)?;
    let obj = body
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| Fault::bad_request("Malformed request body"))?;
    let Some((name, arg)) = obj.iter().next() else {
        return Err(Fault::bad_request("Malformed request body"));
    };
    let api = &state.api;
    match name.as_str() {
        "reboot" => {
            let kind = arg
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_ascii_uppercase);
            let hard = match kind.as_deref() {
                Some("SOFT") => false,
                Some("HARD") => true,
                _ => {
                    return Err(Fault::bad_request(
                        "Invalid input for field/attribute type.",
                    ))
                }
            };
            api.reboot(&ctx, &id, hard).await?;
        }
        "os-start" => api.start(&ctx, &id).await?,
        "os-stop" => api.stop(&ctx, &id).await?,
        "os-getConsoleOutput" => {
            let length = console_length(arg)?;
            let output = api.console_output(&ctx, &id, length).await?;
            return Ok(Json(json!({ "output": output })).into_response());
        }
        "os-migrateLive" => {
            let (host, block) = migrate_args(arg, v)?;
            let host = match host {
                Some(h) => Some(h.parse().map_err(|_| {
                    Fault::bad_request(format!("Compute host {h} could not be found."))
                })?),
                None => None,
            };
            api.live_migrate(&ctx, &id, host, block).await?;
        }
        other => {
            return Err(Fault::bad_request(format!(
                "There is no such action: {other}"
            )))
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_length_accepts_ints_strings_and_minus_one() {
        assert_eq!(console_length(&json!({})).unwrap(), None);
        assert_eq!(console_length(&json!({"length": null})).unwrap(), None);
        assert_eq!(console_length(&json!({"length": -1})).unwrap(), None);
        assert_eq!(console_length(&json!({"length": 5})).unwrap(), Some(5));
        assert_eq!(console_length(&json!({"length": "7"})).unwrap(), Some(7));
        assert!(console_length(&json!({"length": -3})).is_err());
        assert!(console_length(&json!({"length": "x"})).is_err());
    }

    #[test]
    fn migrate_args_follow_the_microversion() {
        let v30 = Microversion(30);
        let a = json!({"block_migration": "auto", "host": "h2"});
        assert_eq!(migrate_args(&a, v30).unwrap(), (Some("h2".into()), None));
        let a = json!({"block_migration": false, "host": null, "disk_over_commit": false});
        assert_eq!(
            migrate_args(&a, Microversion(1)).unwrap(),
            (None, Some(false))
        );
        assert!(migrate_args(&json!({"block_migration": "auto"}), Microversion(1)).is_err());
        assert!(migrate_args(&json!({"host": 3, "block_migration": true}), v30).is_err());
    }
}
