//! The Amazon EC2 query API over [`nova_core::ComputeApi`] (port 8773).
//!
//! Requests are `POST` form bodies or `GET` query strings (any path)
//! naming an `Action`; they are signed with SigV4 or SigV2 by an EC2
//! credential of the identity service ([`Ec2Credentials`]). Responses are
//! EC2's XML; errors carry EC2's codes, and client mistakes are never 5xx.
//! Ids are EC2-style (`i-…`, `ami-…`, `vol-…`) and stable: nova-core keeps
//! the map. Instance types are flavor names.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use nova_core::model::{ProjectId, UserId};
use nova_core::{ComputeApi, RequestContext};

mod addresses;
mod auth;
mod credentials;
mod error;
mod ids;
mod images;
mod instances;
mod instances_view;
mod keypairs;
mod parse;
mod secgroups;
mod time;
mod volumes;
mod xml;
mod zones;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
mod tests_resources;

pub use credentials::{
    Ec2Credentials, Ec2Principal, Ec2Secret, IdentityEc2Credentials, StaticEc2Credentials,
};
pub use error::{Ec2Error, Ec2Result};

use parse::{form_pairs, Params};

/// What the EC2 router serves from.
#[derive(Debug, Clone)]
pub struct Ec2State {
    api: ComputeApi,
    credentials: Arc<dyn Ec2Credentials>,
    region: String,
}

impl Ec2State {
    /// EC2 over `api`, checking signatures against `credentials`;
    /// `region` is what DescribeRegions names.
    pub fn new(
        api: ComputeApi,
        credentials: Arc<dyn Ec2Credentials>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            api,
            credentials,
            region: region.into(),
        }
    }
}

/// The EC2 router: every path and method goes to the action dispatcher.
pub fn router(state: Ec2State) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// One authenticated request.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) api: &'a ComputeApi,
    pub(crate) ctx: RequestContext,
    pub(crate) params: Params,
    pub(crate) region: &'a str,
    pub(crate) host: String,
}

fn xml_response(status: http::StatusCode, body: String) -> Response {
    (
        status,
        [(http::header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        body,
    )
        .into_response()
}

async fn handle(
    State(s): State<Ec2State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    match serve(&s, &method, &uri, &headers, &body, &request_id).await {
        Ok((action, members)) => xml_response(
            http::StatusCode::OK,
            xml::response(&action, &request_id, &members),
        ),
        Err(e) => {
            tracing::info!(code = %e.code, status = %e.status, "ec2 error: {}", e.message);
            xml_response(e.status, xml::error(&e.code, &e.message, &request_id))
        }
    }
}

async fn serve(
    s: &Ec2State,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
) -> Ec2Result<(String, String)> {
    if method != Method::GET && method != Method::POST {
        return Err(Ec2Error::client(
            "InvalidAction",
            format!("Method {method} is not supported"),
        ));
    }
    let mut pairs = form_pairs(uri.query().unwrap_or(""));
    if method == Method::POST {
        let text = std::str::from_utf8(body)
            .map_err(|_| Ec2Error::client("InvalidParameterValue", "The body is not UTF-8"))?;
        pairs.extend(form_pairs(text));
    }
    let params = Params::new(pairs);
    let signed = auth::Signed {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        headers,
        body,
        params: &params,
    };
    let now = time::epoch_secs(SystemTime::now());
    let (access, who) = auth::authenticate(&signed, s.credentials.as_ref(), now).await?;
    let mut ctx = context_of(&who, request_id)?;
    // A token of the caller, for the services reached on its behalf (Glance).
    if let Some(token) = s.credentials.token(&access).await? {
        ctx = ctx.with_token(token.expose());
    }
    let action = params.required("Action")?.to_owned();
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let call = Call {
        api: &s.api,
        ctx,
        params,
        region: &s.region,
        host,
    };
    let members = dispatch(&action, &call).await?;
    Ok((action, members))
}

fn context_of(who: &Ec2Principal, request_id: &str) -> Ec2Result<RequestContext> {
    let bad = |e: nova_core::Error| Ec2Error::auth(format!("Unusable credential: {e}"));
    let mut ctx = RequestContext::new(
        UserId::new(who.user_id.clone()).map_err(bad)?,
        ProjectId::new(who.project_id.clone()).map_err(bad)?,
        who.roles.clone(),
    );
    ctx.request_id = format!("req-{request_id}");
    Ok(ctx)
}

async fn dispatch(action: &str, c: &Call<'_>) -> Ec2Result<String> {
    match action {
        "RunInstances" => instances::run(c).await,
        "DescribeInstances" => instances::describe(c).await,
        "TerminateInstances" => instances::terminate(c).await,
        "StartInstances" => instances::start(c).await,
        "StopInstances" => instances::stop(c).await,
        "RebootInstances" => instances::reboot(c).await,
        "GetConsoleOutput" => instances::console_output(c).await,
        "CreateVolume" => volumes::create(c).await,
        "DeleteVolume" => volumes::delete(c).await,
        "DescribeVolumes" => volumes::describe(c).await,
        "AttachVolume" => volumes::attach(c).await,
        "DetachVolume" => volumes::detach(c).await,
        "AllocateAddress" => addresses::allocate(c).await,
        "AssociateAddress" => addresses::associate(c).await,
        "DisassociateAddress" => addresses::disassociate(c).await,
        "ReleaseAddress" => addresses::release(c).await,
        "DescribeAddresses" => addresses::describe(c).await,
        "DescribeImages" => images::describe(c).await,
        "DescribeAvailabilityZones" => zones::availability_zones(c).await,
        "DescribeRegions" => zones::regions(c),
        "CreateKeyPair" => keypairs::create(c).await,
        "ImportKeyPair" => keypairs::import(c).await,
        "DeleteKeyPair" => keypairs::delete(c).await,
        "DescribeKeyPairs" => keypairs::describe(c).await,
        "CreateSecurityGroup" => secgroups::create(c).await,
        "DeleteSecurityGroup" => secgroups::delete(c).await,
        "DescribeSecurityGroups" => secgroups::describe(c).await,
        "AuthorizeSecurityGroupIngress" => secgroups::authorize(c).await,
        "RevokeSecurityGroupIngress" => secgroups::revoke(c).await,
        other => Err(Ec2Error::client(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

/// `<return>true</return>`.
pub(crate) fn returns_true() -> String {
    "<return>true</return>".to_owned()
}
