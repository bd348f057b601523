//! RPC entry points for trunks: validate, one store call, answer the public shape.

use voxbin_bus::Ctx;
use voxbin_core::{clock, Error, Result};
use voxbin_store::Page;
use voxbin_svc_kit::{made_before, page_request, Scope};

use super::model::{
    check_domain_name, parse_allowed_ip, parse_auth_types, realm, AuthType, Trunk, TrunkAuth,
    TrunkRow, MAX_ALLOWED_IPS,
};
use super::store;
use crate::digest::{ha1_md5, ha1_sha256};
use crate::extension::handlers::internal_only;
use crate::input::{check_password, check_sip_user};
use crate::State;
use voxbin_svc_kit::body::{check_detail, check_name, invalid, Body};

/// The validated fields a create or an update writes.
struct Fields {
    name: String,
    detail: String,
    auth_types: Vec<AuthType>,
    username: String,
    password: String,
    allowed_ips: Vec<String>,
}

/// Reads and checks the fields shared by create and update (all required by the contract).
fn read_fields(body: &Body) -> Result<Fields> {
    let name = body.str("name")?;
    let detail = body.str("detail")?;
    let auth_types = parse_auth_types(&body.str_array("auth_types")?)?;
    let username = body.str("username")?;
    let password = body.str("password")?;
    let raw_ips = body.str_array("allowed_ips")?;
    check_name("name", &name)?;
    check_detail("detail", &detail)?;
    if raw_ips.len() > MAX_ALLOWED_IPS {
        return Err(invalid(
            "allowed_ips",
            format!("may hold at most {MAX_ALLOWED_IPS} entries"),
        ));
    }
    let mut allowed_ips: Vec<String> = Vec::with_capacity(raw_ips.len());
    for (i, raw) in raw_ips.iter().enumerate() {
        let ip = parse_allowed_ip(&format!("allowed_ips[{i}]"), raw)?;
        if !allowed_ips.contains(&ip) {
            allowed_ips.push(ip);
        }
    }
    // Credentials are checked when given, and required when digest auth is on.
    let basic = auth_types.contains(&AuthType::Basic);
    if basic || !username.is_empty() {
        check_sip_user("username", &username)?;
    }
    if basic || !password.is_empty() {
        check_password("password", &password)?;
    }
    if auth_types.contains(&AuthType::Ip) && allowed_ips.is_empty() {
        return Err(invalid(
            "allowed_ips",
            "must list at least one address when auth_types has ip",
        ));
    }
    Ok(Fields {
        name,
        detail,
        auth_types,
        username,
        password,
        allowed_ips,
    })
}

/// Writes `fields` and the HA1s derived from them into `row`.
fn apply(row: &mut TrunkRow, fields: Fields) {
    let has_credentials = !fields.username.is_empty() && !fields.password.is_empty();
    (row.ha1_md5, row.ha1_sha256) = if has_credentials {
        (
            ha1_md5(&fields.username, &row.realm, &fields.password),
            ha1_sha256(&fields.username, &row.realm, &fields.password),
        )
    } else {
        (String::new(), String::new())
    };
    row.name = fields.name;
    row.detail = fields.detail;
    row.auth_types = fields.auth_types;
    row.username = fields.username;
    row.password = fields.password;
    row.allowed_ips = fields.allowed_ips;
}

/// `GET /v1/trunks`: the caller's live trunks, newest first.
pub async fn list(ctx: Ctx<State>) -> Result<Page<Trunk>> {
    let scope = Scope::from_ctx(&ctx)?;
    let page = page_request(&ctx)?;
    let rows = ctx
        .state()
        .deps
        .db
        .read(|pool| store::list(pool, scope, &page))
        .await?;
    let items = rows.iter().map(TrunkRow::public).collect();
    Ok(Page::from_rows(items, page.size, |t: &Trunk| {
        (t.tm_create.clone(), t.id)
    }))
}

/// `POST /v1/trunks`: creates a trunk for the calling customer.
pub async fn create(ctx: Ctx<State>) -> Result<Trunk> {
    let scope = Scope::from_ctx(&ctx)?;
    let body = Body::from_ctx(&ctx)?;
    let domain_name = body.str("domain_name")?;
    check_domain_name("domain_name", &domain_name)?;
    let fields = read_fields(&body)?;
    let customer_id = scope
        .customer()
        .ok_or_else(|| invalid("customer_id", "is required to create a trunk"))?;

    let now = clock::now();
    let mut row = TrunkRow {
        id: ctx.new_id(),
        customer_id,
        name: String::new(),
        detail: String::new(),
        realm: realm(&domain_name, ctx.state().sip_domain()),
        domain_name,
        auth_types: Vec::new(),
        username: String::new(),
        password: String::new(),
        ha1_md5: String::new(),
        ha1_sha256: String::new(),
        allowed_ips: Vec::new(),
        tm_create: now.clone(),
        tm_update: now,
        tm_delete: None,
    };
    apply(&mut row, fields);
    let db = ctx.state().deps.db.writer();
    match store::insert(db, &row).await {
        Ok(()) => Ok(row.public()),
        Err(e) => {
            let made = async {
                store::get(db, row.id, Scope::Customer(customer_id), false)
                    .await?
                    .map(|made| made.public())
                    .ok_or_else(|| Error::not_found("trunk"))
            };
            made_before(&ctx, e, made).await
        }
    }
}

/// `GET /v1/trunks/{id}`.
pub async fn get(ctx: Ctx<State>) -> Result<Trunk> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    ctx.state()
        .deps
        .db
        .read(|pool| store::get(pool, id, scope, false))
        .await?
        .map(|row| row.public())
        .ok_or_else(|| Error::not_found("trunk"))
}

/// `PUT /v1/trunks/{id}`: replaces everything but the domain name.
pub async fn update(ctx: Ctx<State>) -> Result<Trunk> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let body = Body::from_ctx(&ctx)?;
    let fields = read_fields(&body)?;

    let db = &ctx.state().deps.db;
    let mut row = store::get(db.writer(), id, scope, false)
        .await?
        .ok_or_else(|| Error::not_found("trunk"))?;
    row.realm = realm(&row.domain_name, ctx.state().sip_domain());
    apply(&mut row, fields);
    row.tm_update = clock::now();
    if !store::update(db.writer(), &row).await? {
        return Err(Error::not_found("trunk"));
    }
    Ok(row.public())
}

/// `DELETE /v1/trunks/{id}`: soft-deletes and answers the deleted trunk.
pub async fn delete(ctx: Ctx<State>) -> Result<Trunk> {
    let id = ctx.param_uuid("id")?;
    let scope = Scope::from_ctx(&ctx)?;
    let db = &ctx.state().deps.db;
    if !store::delete(db.writer(), id, scope).await? {
        return Err(Error::not_found("trunk"));
    }
    store::get(db.writer(), id, scope, true)
        .await?
        .map(|row| row.public())
        .ok_or_else(|| Error::not_found("trunk"))
}

/// `GET /v1/trunks/by_domain/{domain_name}` (internal, scope All only): the live trunk with its
/// realm and HA1s. Takes the bare name or the full `<name>.trunk.<sip.domain>`.
pub async fn by_domain(ctx: Ctx<State>) -> Result<TrunkAuth> {
    internal_only(&ctx)?;
    // SIP host names are case-insensitive; trunk names are stored in lower case.
    let given = ctx.param("domain_name")?.to_ascii_lowercase();
    let suffix = format!(".trunk.{}", ctx.state().sip_domain().to_ascii_lowercase());
    let name = given.strip_suffix(suffix.as_str()).unwrap_or(&given);
    store::by_domain(ctx.state().deps.db.writer(), name)
        .await?
        .map(|row| row.auth())
        .ok_or_else(|| Error::not_found("trunk"))
}
