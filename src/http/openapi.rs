//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of every route, kept as a static file
//! (`docs/openapi.json`) and embedded at build time. A test fails when a route registered in
//! [`super::configure`] is missing from it.

use actix_web::HttpResponse;

/// The document, as written in `docs/openapi.json`.
pub const DOCUMENT: &str = include_str!("../../docs/openapi.json");

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// Paths of every `.route("…"` call in `src/http/mod.rs` (the `configure()` table).
    fn registered_routes() -> BTreeSet<String> {
        include_str!("mod.rs")
            .split(".route(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string)
            .collect()
    }

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("docs/openapi.json is not valid JSON")
    }

    #[test]
    fn document_is_openapi_with_info_and_paths() {
        let doc = document();
        let version = doc["openapi"].as_str().expect("`openapi` version string");
        assert!(version.starts_with("3."), "openapi {version}");
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }

    #[test]
    fn every_registered_route_is_documented() {
        let routes = registered_routes();
        assert!(routes.len() >= 16, "the route scan found too few routes: {routes:?}");
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let missing: Vec<_> = routes.iter().filter(|r| !paths.contains_key(r.as_str())).collect();
        assert!(missing.is_empty(), "routes missing from docs/openapi.json: {missing:?}");
        // And nothing documented that is not served: `/` is the UI (the default service).
        let stale: Vec<_> = paths
            .keys()
            .filter(|p| p.as_str() != "/" && !routes.contains(p.as_str()))
            .collect();
        assert!(
            stale.is_empty(),
            "docs/openapi.json documents routes that do not exist: {stale:?}"
        );
    }

    #[test]
    fn every_operation_has_responses_and_every_ref_resolves() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let get = &item["get"];
            assert!(get["summary"].is_string(), "{path}: no summary");
            let responses = get["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{path}: no responses"));
            assert!(responses.contains_key("200"), "{path}: no 200 response");
            for (code, r) in responses {
                assert!(r["description"].is_string(), "{path} {code}: no description");
            }
        }
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {r}"));
            assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {r}");
        }
    }

    #[actix_web::test]
    async fn document_is_served_at_its_route() {
        use actix_web::{test, App};
        let app = test::init_service(App::new().configure(crate::http::configure)).await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/api/v1/openapi.json").to_request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers().get("content-type").unwrap(), "application/json");
        assert_eq!(test::read_body(response).await, DOCUMENT.as_bytes());
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|x| collect_refs(x, out));
            }
            Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
            _ => {}
        }
    }
}
