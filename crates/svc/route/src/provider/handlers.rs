//! RPC entry points for providers. Reads are open to every customer; writes need scope All.

use voxbin_bus::Ctx;
use voxbin_core::{clock, Error, Result};
use voxbin_store::Page;
use voxbin_svc_kit::{made_before, page_request, Scope};

use super::model::{
    check_hostname, check_tech_affix, check_type, parse_codecs, parse_tech_headers, Provider,
    HEALTH_UNKNOWN,
};
use super::store;
use crate::State;
use voxbin_svc_kit::body::{check_detail, check_name, Body};

/// 403 unless the caller is the project super-admin (or an internal service).
fn require_admin(ctx: &Ctx<State>) -> Result<()> {
    match Scope::from_ctx(ctx)? {
        Scope::All => Ok(()),
        Scope::Customer(_) => Err(Error::permission_denied(
            "Providers are shared by the whole platform; only the project super-admin may change them.",
        )),
    }
}

/// The validated editable fields of a provider.
struct Fields {
    kind: String,
    hostname: String,
    tech_prefix: String,
    tech_postfix: String,
    tech_headers: std::collections::BTreeMap<String, String>,
    name: String,
    detail: String,
    codecs: Option<String>,
}

/// Reads and checks the body of a create or an update.
fn read_fields(body: &Body) -> Result<Fields> {
    let kind = body.str("type")?;
    check_type("type", &kind)?;
    let hostname = body.str("hostname")?;
    check_hostname("hostname", &hostname)?;
    let tech_prefix = body.str("tech_prefix")?;
    check_tech_affix("tech_prefix", &tech_prefix)?;
    let tech_postfix = body.str("tech_postfix")?;
    check_tech_affix("tech_postfix", &tech_postfix)?;
    let tech_headers = parse_tech_headers("tech_headers", body.object("tech_headers")?)?;
    let name = body.str("name")?;
    check_name("name", &name)?;
    let detail = body.str("detail")?;
    check_detail("detail", &detail)?;
    let codecs = body
        .opt_str("codecs")?
        .map(|c| parse_codecs("codecs", &c))
        .transpose()?;
    Ok(Fields {
        kind,
        hostname,
        tech_prefix,
        tech_postfix,
        tech_headers,
        name,
        detail,
        codecs,
    })
}

/// `GET /v1/providers`: every live provider, newest first (any caller).
pub async fn list(ctx: Ctx<State>) -> Result<Page<Provider>> {
    Scope::from_ctx(&ctx)?;
    let page = page_request(&ctx)?;
    let rows = ctx
        .state()
        .deps
        .db
        .read(|pool| store::list(pool, &page))
        .await?;
    Ok(Page::from_rows(rows, page.size, |p: &Provider| {
        (p.tm_create.clone(), p.id)
    }))
}

/// `GET /v1/providers/{id}` (any caller).
pub async fn get(ctx: Ctx<State>) -> Result<Provider> {
    let id = ctx.param_uuid("id")?;
    Scope::from_ctx(&ctx)?;
    ctx.state()
        .deps
        .db
        .read(|pool| store::get(pool, id, false))
        .await?
        .ok_or_else(|| Error::not_found("provider"))
}

/// `POST /v1/providers` (super-admin).
pub async fn create(ctx: Ctx<State>) -> Result<Provider> {
    require_admin(&ctx)?;
    let f = read_fields(&Body::from_ctx(&ctx)?)?;
    let now = clock::now();
    let provider = Provider {
        id: ctx.new_id(),
        kind: f.kind,
        hostname: f.hostname,
        tech_prefix: f.tech_prefix,
        tech_postfix: f.tech_postfix,
        tech_headers: f.tech_headers,
        metadata: serde_json::Map::new(),
        name: f.name,
        detail: f.detail,
        codecs: f.codecs.unwrap_or_default(),
        health_status: HEALTH_UNKNOWN.to_string(),
        health_checked_at: None,
        tm_create: now.clone(),
        tm_update: now,
        tm_delete: None,
    };
    let db = ctx.state().deps.db.writer();
    match store::insert(db, &provider).await {
        Ok(()) => Ok(provider),
        Err(e) => {
            let made = async {
                store::get(db, provider.id, false)
                    .await?
                    .ok_or_else(|| Error::not_found("provider"))
            };
            made_before(&ctx, e, made).await
        }
    }
}

/// `PUT /v1/providers/{id}` (super-admin); `codecs` keeps its value when left out.
pub async fn update(ctx: Ctx<State>) -> Result<Provider> {
    let id = ctx.param_uuid("id")?;
    require_admin(&ctx)?;
    let f = read_fields(&Body::from_ctx(&ctx)?)?;
    let db = &ctx.state().deps.db;
    let mut provider = store::get(db.writer(), id, false)
        .await?
        .ok_or_else(|| Error::not_found("provider"))?;
    provider.kind = f.kind;
    provider.hostname = f.hostname;
    provider.tech_prefix = f.tech_prefix;
    provider.tech_postfix = f.tech_postfix;
    provider.tech_headers = f.tech_headers;
    provider.name = f.name;
    provider.detail = f.detail;
    if let Some(codecs) = f.codecs {
        provider.codecs = codecs;
    }
    provider.tm_update = clock::now();
    if !store::update(db.writer(), &provider).await? {
        return Err(Error::not_found("provider"));
    }
    Ok(provider)
}

/// `DELETE /v1/providers/{id}` (super-admin). Routes through it stay, but dial routes skip
/// them from now on.
pub async fn delete(ctx: Ctx<State>) -> Result<Provider> {
    let id = ctx.param_uuid("id")?;
    require_admin(&ctx)?;
    let db = &ctx.state().deps.db;
    if !store::delete(db.writer(), id).await? {
        return Err(Error::not_found("provider"));
    }
    store::get(db.writer(), id, true)
        .await?
        .ok_or_else(|| Error::not_found("provider"))
}
