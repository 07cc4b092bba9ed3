//! The OpenAPI document and the router agree.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::support::*;

/// Every route the service must serve.
const EXPECTED: [(&str, &str); 17] = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/db-check"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/trading/decisions"),
    ("get", "/trading/executions"),
    ("get", "/v1/decisions/{id}"),
    ("get", "/v1/strategies"),
    ("post", "/v1/strategies"),
    ("post", "/v1/decisions"),
    ("post", "/v1/decisions/{id}/reviews"),
    ("post", "/v1/decisions/{id}/transitions"),
    ("post", "/v1/executions"),
    ("get", "/v1/cursors/{source}"),
    ("put", "/v1/cursors/{source}"),
    ("get", "/v1/cursors/{source}"),
];

const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

fn concrete(path: &str) -> String {
    path.replace("{id}", "0190b9a0-0000-7000-8000-0000000000aa")
        .replace("{source}", "probe")
}

#[tokio::test]
async fn the_document_and_the_routes_agree() {
    let db = db().await;
    let (_, app) = app(&db).await;
    let served = get(&app, "/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    let doc = served.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc,
        serde_json::to_value(torghut_http::openapi()).unwrap(),
        "/openapi.json is the generated document"
    );
    let paths = doc["paths"].as_object().unwrap();
    for (m, p) in EXPECTED {
        assert!(
            paths.get(p).and_then(|o| o.get(m)).is_some(),
            "{m} {p} is not documented"
        );
    }
    let mut documented = 0;
    for (path, item) in paths {
        for m in METHODS {
            let req = Request::builder()
                .method(Method::from_bytes(m.to_uppercase().as_bytes()).unwrap())
                .uri(concrete(path))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let a = send(&app, req).await;
            let routed = a.status != StatusCode::METHOD_NOT_ALLOWED
                && !(a.status == StatusCode::NOT_FOUND && a.text.contains("no-route"));
            let in_doc = item.get(m).is_some();
            if m == "head" {
                // axum answers HEAD for every GET route.
                continue;
            }
            assert_eq!(
                routed, in_doc,
                "{m} {path}: routed {routed}, documented {in_doc} ({} {})",
                a.status, a.text
            );
            documented += usize::from(in_doc);
            if in_doc {
                let op = &item[m];
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{m} {path}"
                );
            }
        }
    }
    assert_eq!(documented, 16);
    // The old routes document what they return: the old service's keys, decimals as numbers
    // (null for NaN), every key present.
    let schemas = &doc["components"]["schemas"];
    let row = &schemas["OldExecutionRow"];
    assert_eq!(
        row["properties"]["submitted_qty"]["type"],
        serde_json::json!(["number", "null"])
    );
    assert_eq!(row["properties"]["created_at"]["format"], "date-time");
    assert_eq!(
        row["required"].as_array().unwrap().len(),
        row["properties"].as_object().unwrap().len()
    );
    let row = &schemas["OldDecisionRow"];
    assert!(row["properties"]["decision"].get("type").is_none(), "{row}");
    assert!(row["properties"].get("decision_json").is_none(), "{row}");
    assert_eq!(
        row["required"].as_array().unwrap().len(),
        row["properties"].as_object().unwrap().len()
    );
    for path in ["/trading/decisions", "/trading/executions"] {
        let responses = &paths[path]["get"]["responses"];
        assert!(
            responses.get("422").is_some() && responses.get("400").is_none(),
            "{path}"
        );
    }
    // A path nobody documented is not routed either.
    let a = get(&app, "/v1/orders").await;
    assert!(a.text.contains("no-route"), "{}", a.text);
}
