//! The served OpenAPI document describes the shapes the agent really serves: every JSON
//! endpoint's live answer, from an agent watching a real PostgreSQL with something in each
//! section (tables, an index, a partitioned table, a blocked session, an alert), is checked
//! against the schema of its response in `/api/v1/openapi.json`. A property the schema does
//! not declare, a declared required one that is missing, or a value of the wrong type fails,
//! naming the JSON path.
//!
//! The checker covers the JSON Schema subset utoipa emits: `$ref`, `allOf`, `oneOf`, `type`
//! (one or a list, `null` included), `properties`, `required`, `additionalProperties`, `items`
//! and `enum`.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::agent::{test_config, Agent};
use support::TestPostgres;

const WAIT: Duration = Duration::from_secs(90);

struct Checker<'a> {
    doc: &'a Value,
}

impl Checker<'_> {
    fn resolve<'v>(&'v self, schema: &'v Value) -> &'v Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.strip_prefix("#/components/schemas/").expect("local $ref");
                let target = &self.doc["components"]["schemas"][name];
                assert!(target.is_object(), "dangling $ref {r}");
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// The properties an object schema declares (through `allOf` too), and whether it takes
    /// any others (`additionalProperties`).
    fn declared(&self, schema: &Value, names: &mut Vec<String>, open: &mut bool) {
        let schema = self.resolve(schema);
        if let Some(props) = schema["properties"].as_object() {
            names.extend(props.keys().cloned());
        }
        if schema
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false))
        {
            *open = true;
        }
        for part in schema["allOf"].as_array().into_iter().flatten() {
            self.declared(part, names, open);
        }
    }

    /// Every way `value` (at `path`) breaks `schema`.
    fn check(&self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        self.check_part(schema, value, path, errors, true);
    }

    /// `closed`: keys the schema does not declare are errors (false for one part of an
    /// `allOf`, whose other parts declare the rest).
    fn check_part(&self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>, closed: bool) {
        let schema = self.resolve(schema);
        if let Some(parts) = schema["allOf"].as_array() {
            for part in parts {
                self.check_part(part, value, path, errors, false);
            }
            if closed {
                self.check_unknown(schema, value, path, errors);
            }
        }
        if let Some(options) = schema["oneOf"].as_array() {
            let fits = options.iter().any(|o| {
                let mut e = Vec::new();
                self.check_part(o, value, path, &mut e, closed);
                e.is_empty()
            });
            if !fits {
                errors.push(format!(
                    "{path}: {value} fits none of {}",
                    Value::Array(options.clone())
                ));
            }
            return;
        }
        if let Some(allowed) = schema["enum"].as_array() {
            if !allowed.contains(value) {
                errors.push(format!("{path}: {value} is not one of {allowed:?}"));
            }
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return,
        };
        let fits = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            other => panic!("{path}: unknown type {other}"),
        });
        if !fits {
            errors.push(format!("{path}: {value} is not {types:?}"));
            return;
        }
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.check(&schema["items"], item, &format!("{path}[{i}]"), errors);
                }
            }
            Value::Object(map) => {
                for name in schema["required"].as_array().into_iter().flatten() {
                    let name = name.as_str().unwrap();
                    if !map.contains_key(name) {
                        errors.push(format!("{path}: required `{name}` is missing"));
                    }
                }
                for (key, v) in map {
                    if let Some(p) = schema["properties"].get(key) {
                        self.check(p, v, &format!("{path}.{key}"), errors);
                    } else if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                        self.check(extra, v, &format!("{path}.{key}"), errors);
                    }
                }
                if closed && schema.get("allOf").is_none() {
                    self.check_unknown(schema, value, path, errors);
                }
            }
            _ => {}
        }
    }

    fn check_unknown(&self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        let Some(map) = value.as_object() else { return };
        let (mut names, mut open) = (Vec::new(), false);
        self.declared(schema, &mut names, &mut open);
        if open || (names.is_empty() && schema.get("allOf").is_none()) {
            return;
        }
        for key in map.keys().filter(|k| !names.contains(k)) {
            errors.push(format!("{path}: `{key}` is not in the schema"));
        }
    }

    /// The schema of `path`'s JSON answer with `status`.
    fn response_schema(&self, path: &str, status: u16) -> &Value {
        let response = &self.doc["paths"][path]["get"]["responses"][status.to_string()];
        assert!(response.is_object(), "{path}: status {status} is not documented");
        let schema = &response["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{path} {status}: no JSON schema");
        schema
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_answer_matches_the_served_openapi_schema() {
    let pg = TestPostgres::start();
    pg.seed_app(false);
    let agent = Agent::start(&pg.url("monitor", "pw", "app"), &test_config(""));
    let spec: Value = serde_json::from_str(&agent.get("/api/v1/openapi.json").1).expect("the document is JSON");
    let checker = Checker { doc: &spec };

    // Every loop has published once, so each endpoint answers from a snapshot.
    agent.wait_json("/api/v1/health", WAIT, "every loop's first run", |_, b| {
        let loops = b["loops"].as_object()?;
        (loops.len() == 4 && loops.values().all(|l| l["runs_total"].as_u64().unwrap_or(0) >= 1)).then_some(())
    });
    // A session left blocked behind an idle transaction, so blocking events and long
    // transactions are listed too.
    let (holder, waiter) = pg.blocked_session("app").await;
    agent.wait_json("/api/v1/overview", WAIT, "the blocked session", |_, b| {
        (b["blocked_sessions"].as_i64()? >= 1).then_some(())
    });

    let json_paths: Vec<String> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| {
            item["get"]["responses"]["200"]["content"]
                .as_object()
                .is_some_and(|c| c.contains_key("application/json"))
        })
        .map(|(p, _)| p.clone())
        .filter(|p| p != "/api/v1/openapi.json")
        .collect();
    assert!(json_paths.len() >= 15, "{json_paths:?}");
    let mut errors = Vec::new();
    for path in &json_paths {
        let (status, body) = agent.get(path);
        let value: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        checker.check(checker.response_schema(path, status), &value, path, &mut errors);
    }
    // An unknown endpoint and a loop endpoint before its first run answer as documented too.
    let (status, body) = agent.get("/api/v1/nope");
    assert_eq!(status, 404);
    checker.check(
        checker.response_schema("/", 404),
        &serde_json::from_str(&body).unwrap(),
        "/api/v1/nope",
        &mut errors,
    );
    assert!(
        errors.is_empty(),
        "answers that break the served schema:\n{}",
        errors.join("\n")
    );

    // The checker is not blind: a renamed field, a wrong type and a missing one are caught.
    let (_, body) = agent.get("/api/v1/storage");
    let mut storage: Value = serde_json::from_str(&body).unwrap();
    let schema = checker.response_schema("/api/v1/storage", 200);
    storage["skipped"] = storage["skipped_relations"].take();
    storage.as_object_mut().unwrap().remove("skipped_relations");
    storage["age_seconds"] = Value::String("soon".into());
    let mut caught = Vec::new();
    checker.check(schema, &storage, "storage", &mut caught);
    let caught = caught.join("\n");
    for expected in [
        "`skipped` is not in the schema",
        "required `skipped_relations` is missing",
        "\"soon\"",
    ] {
        assert!(caught.contains(expected), "{expected} not caught in:\n{caught}");
    }
    drop(holder);
    let _ = waiter.await;
}
