use torghut_store::review::{self, ReviewError};
use torghut_store::InputError;

use crate::support::{count, review as new_review, with_decision, WithDecision};

type Mutation = Box<dyn Fn(&mut review::NewReview)>;

#[tokio::test]
async fn append_and_typed_errors() {
    let WithDecision {
        db: _db, c, p, d, ..
    } = with_decision().await;
    let id = review::append(&c, d.id, &new_review(), &p).await.unwrap();
    let stored = review::for_decision(&c, d.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
    assert_eq!(stored[0].verdict, "approve");
    assert_eq!(stored[0].confidence.as_ref().unwrap().as_str(), "0.9000");
    assert_eq!(stored[0].risk_flags, Some(serde_json::json!(["none"])));

    let cases: Vec<(&str, Mutation)> = vec![
        ("verdict", Box::new(|r| r.verdict = "maybe".into())),
        (
            "confidence",
            Box::new(|r| r.confidence = Some("1.5".parse().unwrap())),
        ),
        (
            "confidence",
            Box::new(|r| r.confidence = Some("-0.1".parse().unwrap())),
        ),
        ("tokens_prompt", Box::new(|r| r.tokens_prompt = Some(-1))),
        (
            "tokens_completion",
            Box::new(|r| r.tokens_completion = Some(-5)),
        ),
        ("model", Box::new(|r| r.model = String::new())),
        ("input_json", Box::new(|r| r.input_json = "{".into())),
        (
            "response_json",
            Box::new(|r| r.response_json = r#"{"a":"\u0000"}"#.into()),
        ),
        (
            "risk_flags",
            Box::new(|r| r.risk_flags = Some("[1,NaN]".into())),
        ),
    ];
    for (field, mutate) in cases {
        let mut r = new_review();
        mutate(&mut r);
        let err = review::append(&c, d.id, &r, &p).await.unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
    }
    let mut r = new_review();
    r.response_json = r#"{"a":"\u0000"}"#.into();
    match review::append(&c, d.id, &r, &p).await.unwrap_err() {
        ReviewError::Input(InputError::Json { source, .. }) => assert_eq!(source.path, "$.a"),
        other => panic!("{other:?}"),
    }
    // Boundaries are accepted.
    let mut r = new_review();
    r.confidence = Some("1".parse().unwrap());
    r.tokens_prompt = Some(0);
    review::append(&c, d.id, &r, &p).await.unwrap();

    let missing = uuid::Uuid::now_v7();
    assert!(matches!(
        review::append(&c, missing, &new_review(), &p).await,
        Err(ReviewError::UnknownDecision { decision_id }) if decision_id == missing
    ));
    assert_eq!(count(&c, "llm_decision_reviews").await, 2);
}

/// On a pooled connection inside its `StatementScope`, the store's statements are prepared
/// once and reused (one prepared statement in the session after two appends); outside a scope,
/// each call prepares and closes its own (none left).
#[tokio::test]
async fn statements_are_prepared_once_per_pooled_connection() {
    let WithDecision { db, p, d, .. } = with_decision().await;
    let manager = deadpool_postgres::Manager::new(db.config(), tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(1)
        .build()
        .unwrap();
    let conn = pool.get().await.unwrap();
    let prepared = "SELECT count(*) FROM pg_prepared_statements \
                    WHERE statement LIKE 'INSERT INTO llm_decision_reviews%'";
    review::append(&conn, d.id, &new_review(), &p)
        .await
        .unwrap();
    let n: i64 = conn.query_one(prepared, &[]).await.unwrap().get(0);
    assert_eq!(n, 0, "outside a scope nothing stays prepared");
    for _ in 0..2 {
        torghut_store::StatementScope::of(&conn)
            .run(review::append(&conn, d.id, &new_review(), &p))
            .await
            .unwrap();
    }
    let n: i64 = conn.query_one(prepared, &[]).await.unwrap().get(0);
    assert_eq!(n, 1, "one statement, prepared once and reused");
    assert_eq!(review::for_decision(&**conn, d.id).await.unwrap().len(), 3);
}
