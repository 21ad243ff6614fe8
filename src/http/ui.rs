//! The UI at `/`: the bundle embedded at build time (`ui/dist`), or `http.static_dir` from
//! disk when that directory exists. Unknown paths without a file extension get `index.html`
//! (client-side routes); missing assets are 404.

use super::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "ui/dist"]
struct Bundle;

/// The embedded web UI (any path that is not an endpoint).
#[utoipa::path(get, path = "/", tag = "ui", security(()), responses(
    (status = 200, description = "The UI's index.html, or the asset asked for.", body = String, content_type = "text/html"),
    (status = 404, description = "No such asset or endpoint.", body = super::openapi::ErrorBody)))]
pub async fn serve(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD {
        return HttpResponse::MethodNotAllowed().finish();
    }
    let path = req.path().trim_start_matches('/');
    if path.split('/').any(|seg| seg == "..") {
        return HttpResponse::BadRequest().finish();
    }
    if path.starts_with("api/") {
        return HttpResponse::NotFound().json(super::openapi::ErrorBody {
            error: format!("no such endpoint: /{path}"),
        });
    }
    let wanted = if path.is_empty() { "index.html" } else { path };
    let is_asset = wanted.rsplit('/').next().is_some_and(|last| last.contains('.'));
    let candidates: &[&str] = if is_asset { &[wanted] } else { &[wanted, "index.html"] };
    for candidate in candidates {
        if let Some(body) = load(&app, candidate) {
            let mime = mime_guess::from_path(candidate).first_or_octet_stream();
            return HttpResponse::Ok().content_type(mime.as_ref()).body(body);
        }
    }
    HttpResponse::NotFound().json(super::openapi::ErrorBody {
        error: format!("no such path: /{path}"),
    })
}

fn load(app: &AppState, path: &str) -> Option<Vec<u8>> {
    if let Some(dir) = &app.static_dir {
        return std::fs::read(dir.join(path)).ok();
    }
    Bundle::get(path).map(|f| f.data.into_owned())
}
